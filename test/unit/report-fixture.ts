// A real run for the report tests: `zkroll apply plans/codis-incident.yaml --yes` on the lab
// (run 20261201T030558Z): the 68 steps of its report.json (ids, titles, start offsets and
// durations in ms, resolved slots, the four measured elections, notes), the 121 lines its
// sampler wrote to states.jsonl and the lab writer's writer.jsonl, times as ms from the run's
// start. Beside them, the logs of the lab's two Java clients (3.4.6 and 3.8.0): those are made
// up, not recorded (the run predates them): outages where the writer's are, a little longer
// (the Java client waits out a failed connection attempt), in the lines java/ZkrollLabClient.java
// writes (their errors as the real clients wrote them against a standalone server).
import type { ServerState, StateChange } from '../../src/run/sampler.js';
import type { ClientEvent, ReportInput, ReportStep } from '../../src/report/model.js';

type Row = [id: string, title: string, at: number, ms: number, resolved?: number | null, election?: [number, number, number] | null, notes?: string[]];

/** The run's start (epoch ms): 2026-12-01T03:05:58.233Z. */
export const T0 = Date.UTC(2026, 11, 1, 3, 5, 58, 233);

// prettier-ignore
const ROWS: Row[] = [
  ["prepare/127.0.10.6", "Check the 3.4.13 install on 127.0.10.6 and set daily-rolled logs", 13, 85],
  ["prepare/127.0.10.7", "Check the 3.4.13 install on 127.0.10.7 and set daily-rolled logs", 98, 71],
  ["prepare/127.0.10.8", "Check the 3.4.13 install on 127.0.10.8 and set daily-rolled logs", 169, 73],
  ["prepare/127.0.10.9", "Check the 3.4.13 install on 127.0.10.9 and set daily-rolled logs", 242, 72],
  ["prepare/127.0.10.10", "Check the 3.4.13 install on 127.0.10.10 and set daily-rolled logs", 314, 45],
  ["prepare/127.0.10.1", "Check the 3.4.13 install on 127.0.10.1 and set daily-rolled logs", 360, 1237],
  ["prepare/persist-ephemerals", "Write persistent copies of the ephemeral nodes under /jodis", 1597, 51, null, null, ["3 ephemeral nodes copied as <name>.zkroll-persisted"]],
  ["broken/stop-6", "Stop broken server 6 (127.0.10.6)", 1649, 151],
  ["broken/stop-8", "Stop broken server 8 (127.0.10.8)", 1801, 139],
  ["broken/backup-6", "Move the old data of server 2 (old 6, 127.0.10.6) to a dated backup", 1940, 36],
  ["broken/backup-8", "Move the old data of server 3 (old 8, 127.0.10.8) to a dated backup", 1976, 28],
  ["seed/backup-1", "Move the old data of temporary server 1 (127.0.10.1) to a dated backup", 2004, 20],
  ["seed/copy", "Copy the data of the old ensemble's leader (found at run time) to temporary server 1 (127.0.10.1)", 2024, 5450, null, null, ["on the seed 127.0.10.10: stream /data/zookeeper/data/version-2 as a tar archive, through zkroll to 127.0.10.1: 90777600 bytes in 2.0 s", "on the seed 127.0.10.10: stream /data/zookeeper/datalog/version-2 as a tar archive, through zkroll to 127.0.10.1: 268441600 bytes in 3.4 s"]],
  ["seed/config-1", "Write myid 1 and the mini-ensemble's zoo.cfg on temporary server 1 (127.0.10.1)", 7474, 77],
  ["mini/config-2", "Write myid 2 and the mini-ensemble's zoo.cfg on server 2 (old 6, 127.0.10.6)", 7551, 37],
  ["mini/config-3", "Write myid 3 and the mini-ensemble's zoo.cfg on server 3 (old 8, 127.0.10.8)", 7588, 40],
  ["mini/start-1", "Start temporary server 1 (127.0.10.1)", 7628, 1833],
  ["mini/start-2", "Start server 2 (old 6, 127.0.10.6)", 9462, 2301],
  ["mini/start-3", "Start server 3 (old 8, 127.0.10.8)", 11763, 3080],
  ["old/stop-7", "Stop old server 7 (127.0.10.7)", 14877, 265],
  ["old/stop-9", "Stop old server 9 (127.0.10.9)", 15142, 114],
  ["old/stop-10", "Stop old server 10 (127.0.10.10)", 15256, 176],
  ["old/split-window", "Carry over the writes the old ensemble took after the copy (split window)", 15432, 37170, null, null, ["old ensemble ended at 0x100000627 (server 10): carried 0 created and 0 changed nodes; only in the new ensemble (kept): /zkroll"]],
  ["grow-4/backup", "Move the old data of server 4 (old 7, 127.0.10.7) to a dated backup", 52602, 36],
  ["grow-4/config-4", "Write myid 4 and a 4-server zoo.cfg on server 4 (old 7, 127.0.10.7)", 52638, 55],
  ["grow-4/start", "Start server 4 (old 7, 127.0.10.7)", 52693, 2576],
  ["grow-4/config-1", "Write the 4-server zoo.cfg on temporary server 1 (127.0.10.1) (add server.4)", 55269, 51],
  ["grow-4/config-2", "Write the 4-server zoo.cfg on server 2 (old 6, 127.0.10.6) (add server.4)", 55321, 84],
  ["grow-4/config-3", "Write the 4-server zoo.cfg on server 3 (old 8, 127.0.10.8) (add server.4)", 55405, 52],
  ["grow-4/restart-1", "Restart follower 1 of 2", 55457, 1969, 2, null],
  ["grow-4/restart-2", "Restart follower 2 of 2", 57426, 2355, 3, null],
  ["grow-4/restart-3", "Restart the leader (last of 3)", 59781, 3284, 1, [1, 4, 1258]],
  ["grow-5/backup", "Move the old data of server 5 (old 9, 127.0.10.9) to a dated backup", 63065, 28],
  ["grow-5/config-5", "Write myid 5 and a 5-server zoo.cfg on server 5 (old 9, 127.0.10.9)", 63093, 54],
  ["grow-5/start", "Start server 5 (old 9, 127.0.10.9)", 63147, 2304],
  ["grow-5/config-1", "Write the 5-server zoo.cfg on temporary server 1 (127.0.10.1) (add server.5)", 65451, 69],
  ["grow-5/config-2", "Write the 5-server zoo.cfg on server 2 (old 6, 127.0.10.6) (add server.5)", 65520, 35],
  ["grow-5/config-3", "Write the 5-server zoo.cfg on server 3 (old 8, 127.0.10.8) (add server.5)", 65555, 44],
  ["grow-5/config-4", "Write the 5-server zoo.cfg on server 4 (old 7, 127.0.10.7) (add server.5)", 65599, 28],
  ["grow-5/restart-1", "Restart follower 1 of 3", 65628, 2223, 1, null],
  ["grow-5/restart-2", "Restart follower 2 of 3", 67851, 2196, 2, null],
  ["grow-5/restart-3", "Restart follower 3 of 3", 70047, 2745, 3, null],
  ["grow-5/restart-4", "Restart the leader (last of 4)", 72793, 3024, 4, [4, 5, 515]],
  ["grow-6/backup", "Move the old data of server 6 (old 10, 127.0.10.10) to a dated backup", 75818, 35],
  ["grow-6/config-6", "Write myid 6 and a 6-server zoo.cfg on server 6 (old 10, 127.0.10.10)", 75853, 72],
  ["grow-6/start", "Start server 6 (old 10, 127.0.10.10)", 75925, 2531],
  ["grow-6/config-1", "Write the 6-server zoo.cfg on temporary server 1 (127.0.10.1) (add server.6)", 78456, 119],
  ["grow-6/config-2", "Write the 6-server zoo.cfg on server 2 (old 6, 127.0.10.6) (add server.6)", 78575, 49],
  ["grow-6/config-3", "Write the 6-server zoo.cfg on server 3 (old 8, 127.0.10.8) (add server.6)", 78624, 85],
  ["grow-6/config-4", "Write the 6-server zoo.cfg on server 4 (old 7, 127.0.10.7) (add server.6)", 78709, 73],
  ["grow-6/config-5", "Write the 6-server zoo.cfg on server 5 (old 9, 127.0.10.9) (add server.6)", 78782, 57],
  ["grow-6/restart-1", "Restart follower 1 of 4", 78839, 1895, 1, null],
  ["grow-6/restart-2", "Restart follower 2 of 4", 80734, 2074, 2, null],
  ["grow-6/restart-3", "Restart follower 3 of 4", 82808, 2014, 3, null],
  ["grow-6/restart-4", "Restart follower 4 of 4", 84822, 1499, 4, null],
  ["grow-6/restart-5", "Restart the leader (last of 5)", 86321, 2964, 5, [5, 6, 1311]],
  ["retire/stop-1", "Stop temporary server 1 (127.0.10.1)", 89285, 131],
  ["retire/config-2", "Write the 5-server zoo.cfg on server 2 (old 6, 127.0.10.6) (remove server.1)", 89416, 28],
  ["retire/config-3", "Write the 5-server zoo.cfg on server 3 (old 8, 127.0.10.8) (remove server.1)", 89444, 15],
  ["retire/config-4", "Write the 5-server zoo.cfg on server 4 (old 7, 127.0.10.7) (remove server.1)", 89459, 32],
  ["retire/config-5", "Write the 5-server zoo.cfg on server 5 (old 9, 127.0.10.9) (remove server.1)", 89491, 29],
  ["retire/config-6", "Write the 5-server zoo.cfg on server 6 (old 10, 127.0.10.10) (remove server.1)", 89520, 22],
  ["retire/restart-1", "Restart follower 1 of 4", 89542, 1716, 2, null],
  ["retire/restart-2", "Restart follower 2 of 4", 91258, 2668, 3, null],
  ["retire/restart-3", "Restart follower 3 of 4", 93926, 1563, 4, null],
  ["retire/restart-4", "Restart follower 4 of 4", 95489, 1701, 5, null],
  ["retire/restart-5", "Restart the leader (last of 5)", 97190, 2944, 6, [6, 5, 1679]],
  ["final/check", "Check the ensemble of 5: one leader, 4 synced followers, writes accepted, every server on 3.4.13, the same data everywhere", 100134, 9425, null, null, ["persistent copies of ephemeral nodes: 3, 3 shadowed by their re-registered owners; remove the shadowed ones with: zkroll copies plans/codis-incident.yaml --clean"]],
];

const HOSTS = ['127.0.10.1', '127.0.10.6', '127.0.10.7', '127.0.10.8', '127.0.10.9', '127.0.10.10'];
const LABELS = [
  '127.0.10.1 · myid 1',
  '127.0.10.6 · myid 6→2',
  '127.0.10.7 · myid 7→4',
  '127.0.10.8 · myid 8→3',
  '127.0.10.9 · myid 9→5',
  '127.0.10.10 · myid 10→6',
];

/** states.jsonl: [ms from T0, host index, state]. */
// prettier-ignore
const STATES: [number, number, ServerState][] = [
  [49, 0, 'down'], [51, 5, 'leading'], [51, 4, 'following'], [51, 2, 'following'], [51, 1, 'looking'], [57, 3, 'looking'], [1763, 1, 'down'],
  [2020, 3, 'down'], [9693, 0, 'looking'], [10519, 1, 'looking'], [11780, 0, 'leading'], [11780, 1, 'following'], [12540, 3, 'looking'],
  [14534, 3, 'following'], [15110, 2, 'down'], [15284, 4, 'down'], [15535, 5, 'down'], [17490, 3, 'down'], [17546, 3, 'following'],
  [21498, 3, 'down'], [21812, 3, 'following'], [53939, 2, 'looking'], [55184, 2, 'following'], [55707, 1, 'down'], [57204, 1, 'looking'],
  [57443, 1, 'following'], [57941, 3, 'down'], [58392, 2, 'down'], [58501, 2, 'following'], [59457, 3, 'looking'], [59757, 3, 'following'],
  [60196, 0, 'down'], [60202, 2, 'looking'], [60202, 3, 'looking'], [60203, 1, 'looking'], [61451, 1, 'following'], [61452, 2, 'leading'],
  [61453, 3, 'following'], [62820, 0, 'looking'], [62959, 0, 'following'], [64265, 4, 'looking'], [65500, 4, 'following'], [66013, 0, 'down'],
  [67605, 0, 'looking'], [67783, 0, 'following'], [68280, 1, 'down'], [69840, 1, 'looking'], [70082, 1, 'following'], [70573, 3, 'down'],
  [72610, 3, 'looking'], [72835, 3, 'following'], [73335, 2, 'down'], [73339, 0, 'looking'], [73339, 4, 'looking'], [73339, 3, 'looking'],
  [73339, 1, 'looking'], [73840, 4, 'leading'], [73840, 3, 'following'], [73861, 1, 'following'], [74644, 0, 'following'], [75561, 2, 'looking'],
  [75897, 2, 'following'], [76910, 5, 'looking'], [78400, 5, 'following'], [79408, 0, 'down'], [80468, 0, 'looking'], [80667, 0, 'following'],
  [81162, 1, 'down'], [81610, 5, 'down'], [81798, 5, 'following'], [82586, 1, 'looking'], [82688, 1, 'following'], [83437, 3, 'down'],
  [84580, 3, 'looking'], [84708, 3, 'following'], [85182, 2, 'down'], [86194, 2, 'looking'], [86445, 2, 'following'], [86686, 4, 'down'],
  [86691, 0, 'looking'], [86691, 5, 'looking'], [86692, 2, 'looking'], [86692, 1, 'looking'], [86692, 3, 'looking'], [87947, 3, 'following'],
  [87949, 0, 'following'], [87950, 2, 'following'], [87950, 1, 'following'], [87951, 5, 'leading'], [88990, 4, 'looking'], [89225, 4, 'following'],
  [89473, 0, 'down'], [89969, 1, 'down'], [91030, 1, 'looking'], [91237, 1, 'following'], [91733, 3, 'down'], [93739, 3, 'looking'],
  [94001, 3, 'following'], [94251, 2, 'down'], [95389, 2, 'looking'], [95572, 2, 'following'], [95812, 4, 'down'], [96965, 4, 'looking'],
  [97071, 4, 'following'], [97577, 5, 'down'], [97577, 1, 'looking'], [97579, 2, 'looking'], [97579, 4, 'looking'], [97580, 3, 'looking'],
  [99078, 2, 'following'], [99078, 3, 'following'], [99079, 1, 'following'], [99081, 4, 'leading'], [99974, 5, 'looking'], [100084, 5, 'following'],
  [109576, 1, 'unknown'], [109576, 2, 'unknown'], [109576, 3, 'unknown'], [109576, 4, 'unknown'], [109576, 5, 'unknown'], [109576, 0, 'unknown'],
];

/** writer.jsonl, t in ms from T0 (the lab came up before the run). */
// prettier-ignore
const WRITER: ClientEvent[] = [
  {"t": -6884, "event": "start"},
  {"t": -6859, "event": "ok", "acked": 1},
  {"t": 15017, "event": "error", "acked": 317, "error": "set /lab-writer/w: -4 connection loss"},
  {"t": 15427, "event": "ok", "acked": 318},
  {"t": 21336, "event": "error", "acked": 399, "error": "no answer within 250 ms"},
  {"t": 21678, "event": "ok", "acked": 400},
  {"t": 53120, "event": "heartbeat", "acked": 856},
  {"t": 57768, "event": "error", "acked": 923, "error": "no answer within 250 ms"},
  {"t": 59730, "event": "ok", "acked": 924},
  {"t": 60073, "event": "error", "acked": 928, "error": "set /lab-writer/w: -4 connection loss"},
  {"t": 62129, "event": "ok", "acked": 929},
  {"t": 73287, "event": "error", "acked": 1089, "error": "no answer within 250 ms"},
  {"t": 75298, "event": "ok", "acked": 1090},
  {"t": 86584, "event": "error", "acked": 1251, "error": "set /lab-writer/w: -4 connection loss"},
  {"t": 89033, "event": "ok", "acked": 1252},
  {"t": 97385, "event": "error", "acked": 1370, "error": "no answer within 250 ms"},
  {"t": 99378, "event": "ok", "acked": 1371},
  {"t": 113121, "event": "heartbeat", "acked": 1570},
  {"t": 173121, "event": "heartbeat", "acked": 2461},
];

export function steps(): ReportStep[] {
  return ROWS.map(([id, title, at, ms, resolved, election, notes], i) => ({
    n: i + 1,
    id,
    title,
    status: 'done',
    attempts: 1,
    election: election ? { from: election[0], to: election[1], ms: election[2] } : null,
    startedAt: new Date(T0 + at).toISOString(),
    endedAt: new Date(T0 + at + ms).toISOString(),
    durationMs: ms,
    resolved: resolved ?? null,
    notes: notes ?? [],
  }));
}

export function states(): StateChange[] {
  return STATES.map(([t, h, state]) => ({ t: T0 + t, server: `${HOSTS[h]}:2181`, label: LABELS[h]!, state }));
}

export function clientEvents(): ClientEvent[] {
  return WRITER.map((e) => ({ ...e, t: T0 + e.t }));
}

/** A Java client's outage: [ms from T0 it began, ms it lasted, failed operations, first op, last error is a stall]. */
type JavaOutage = [from: number, ms: number, failed: number, op: 'write' | 'read', lastStalled: boolean];

// prettier-ignore
const JAVA: Record<'3.4.6' | '3.8.0', { start: number; version: string; outages: JavaOutage[] }> = {
  '3.4.6': {
    start: -6120,
    version: '3.4.6-1569965, built on 02/20/2014 09:09 GMT',
    outages: [[15030, 1190, 3, 'write', true], [59702, 2711, 9, 'read', false], [73301, 2119, 5, 'write', false], [86597, 2523, 7, 'read', false], [97391, 2020, 4, 'write', true]],
  },
  '3.8.0': {
    start: -5480,
    version: '3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC',
    outages: [[15022, 804, 2, 'read', true], [21340, 402, 1, 'write', true], [60079, 2240, 6, 'write', false], [73290, 2031, 5, 'read', true], [86590, 2470, 6, 'write', false], [97388, 2007, 4, 'read', false]],
  },
};

/** A Java client's log (java/ZkrollLabClient.java's lines), t in epoch ms: 15 operations a second, writes and reads alternating. */
export function javaClientEvents(release: '3.4.6' | '3.8.0'): ClientEvent[] {
  const { start, version, outages } = JAVA[release];
  const path = `/lab-clients/java-${release}`;
  const done = (t: number) => Math.floor(((t - start) * 15) / 1000 / 2);
  const loss = (op: string) => `${op === 'write' ? 'setData' : 'getData'} ${path}: KeeperErrorCode = ConnectionLoss for ${path}`;
  const stall = 'no answer within 250 ms';
  const events: ClientEvent[] = [
    { t: start, event: 'start', version, connect: '127.0.10.6:2181,127.0.10.7:2181,127.0.10.8:2181,127.0.10.9:2181,127.0.10.10:2181', path, hz: 15, release },
    { t: start + 380, event: 'ok', acked: 1, reads: 0 },
  ];
  for (const [from, ms, failed, op, lastStalled] of outages) {
    events.push({ t: from, event: 'error', error: failed > 2 ? loss(op) : stall, op, acked: done(from), reads: done(from) });
    events.push({
      t: from + ms,
      event: 'ok',
      acked: done(from + ms) - failed,
      reads: done(from + ms) - failed,
      failed,
      lastError: lastStalled ? stall : loss(op === 'write' ? 'read' : 'write'),
    });
  }
  for (const t of [53120, 113121, 173121]) events.push({ t, event: 'heartbeat', state: 'ok', acked: done(t), reads: done(t) });
  return events.sort((a, b) => a.t - b.t).map((e) => ({ ...e, t: T0 + e.t }));
}

/** The lab's clients as `npm run demo` passes them: the writer, then the Java clients. */
export function labClientInputs(): { name: string; events: ClientEvent[] }[] {
  return [
    { name: 'lab writer (node)', events: clientEvents() },
    { name: 'Java client 3.4.6', events: javaClientEvents('3.4.6') },
    { name: 'Java client 3.8.0', events: javaClientEvents('3.8.0') },
  ];
}

/** The whole input: the run, its states and the lab's three clients. */
export function incidentInput(): ReportInput {
  return {
    report: { runId: '20261201T030558Z', startedAt: new Date(T0).toISOString(), state: 'done', failure: null, steps: steps() },
    cluster: 'codis-incident',
    states: states(),
    clients: labClientInputs(),
    now: T0 + 120_000,
  };
}
