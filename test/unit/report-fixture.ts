// A realistic report.html input for the report tests: the 68 steps of a real lab run of
// plans/codis-incident.yaml (ids, titles, start offsets and durations in ms, resolved slots,
// the four measured elections, notes: from its report.json), with the server states and the
// writer client's log simulated from what each step does (a restart takes its server down, a
// leader's stop makes the others look for a leader as long as the election measured, ...),
// sampled on the sampler's 250 ms rounds.
import type { StateChange, ServerState } from '../../src/run/sampler.js';
import type { ClientEvent, ReportInput, ReportJson, ReportStep } from '../../src/report/model.js';

type Row = [id: string, title: string, at: number, ms: number, resolved?: number | null, election?: [number, number, number] | null, notes?: string[]];

// prettier-ignore
const ROWS: Row[] = [
  ["prepare/127.0.10.6", "Check the 3.4.13 install on 127.0.10.6 and set daily-rolled logs", 0, 55],
  ["prepare/127.0.10.7", "Check the 3.4.13 install on 127.0.10.7 and set daily-rolled logs", 55, 43],
  ["prepare/127.0.10.8", "Check the 3.4.13 install on 127.0.10.8 and set daily-rolled logs", 99, 39],
  ["prepare/127.0.10.9", "Check the 3.4.13 install on 127.0.10.9 and set daily-rolled logs", 139, 41],
  ["prepare/127.0.10.10", "Check the 3.4.13 install on 127.0.10.10 and set daily-rolled logs", 180, 39],
  ["prepare/127.0.10.1", "Check the 3.4.13 install on 127.0.10.1 and set daily-rolled logs", 219, 1154],
  ["prepare/persist-ephemerals", "Write persistent copies of the ephemeral nodes under /jodis", 1373, 50, null, null, ["3 ephemeral nodes copied as <name>.zkroll-persisted"]],
  ["broken/stop-6", "Stop broken server 6 (127.0.10.6)", 1424, 80],
  ["broken/stop-8", "Stop broken server 8 (127.0.10.8)", 1504, 71],
  ["broken/backup-6", "Move the old data of server 2 (old 6, 127.0.10.6) to a dated backup", 1575, 13],
  ["broken/backup-8", "Move the old data of server 3 (old 8, 127.0.10.8) to a dated backup", 1588, 11],
  ["seed/backup-1", "Move the old data of temporary server 1 (127.0.10.1) to a dated backup", 1599, 10],
  ["seed/copy", "Copy the data of the old ensemble's leader (found at run time) to temporary server 1 (127.0.10.1)", 1609, 3335, null, null, ["on the seed 127.0.10.10: stream /data/zookeeper/data/version-2 as a tar archive, through zkroll to 127.0.10.1: 10240 bytes in 1.2 s", "on the seed 127.0.10.10: stream /data/zookeeper/datalog/version-2 as a tar archive, through zkroll to 127.0.10.1: 67112960 bytes in 2.1 s"]],
  ["seed/config-1", "Write myid 1 and the mini-ensemble's zoo.cfg on temporary server 1 (127.0.10.1)", 4945, 29],
  ["mini/config-2", "Write myid 2 and the mini-ensemble's zoo.cfg on server 2 (old 6, 127.0.10.6)", 4974, 28],
  ["mini/config-3", "Write myid 3 and the mini-ensemble's zoo.cfg on server 3 (old 8, 127.0.10.8)", 5002, 32],
  ["mini/start-1", "Start temporary server 1 (127.0.10.1)", 5034, 1671],
  ["mini/start-2", "Start server 2 (old 6, 127.0.10.6)", 6705, 1131],
  ["mini/start-3", "Start server 3 (old 8, 127.0.10.8)", 7836, 1232],
  ["old/stop-7", "Stop old server 7 (127.0.10.7)", 9073, 78],
  ["old/stop-9", "Stop old server 9 (127.0.10.9)", 9152, 93],
  ["old/stop-10", "Stop old server 10 (127.0.10.10)", 9245, 104],
  ["old/split-window", "Carry over the writes the old ensemble took after the copy (split window)", 9349, 6309, null, null, ["old ensemble ended at 0x10000054e (server 9): carried 399 created and 0 changed nodes; only in the new ensemble (kept): /zkroll"]],
  ["grow-4/backup", "Move the old data of server 4 (old 7, 127.0.10.7) to a dated backup", 15658, 19],
  ["grow-4/config-4", "Write myid 4 and a 4-server zoo.cfg on server 4 (old 7, 127.0.10.7)", 15678, 35],
  ["grow-4/start", "Start server 4 (old 7, 127.0.10.7)", 15713, 1145],
  ["grow-4/config-1", "Write the 4-server zoo.cfg on temporary server 1 (127.0.10.1) (add server.4)", 16859, 31],
  ["grow-4/config-2", "Write the 4-server zoo.cfg on server 2 (old 6, 127.0.10.6) (add server.4)", 16890, 18],
  ["grow-4/config-3", "Write the 4-server zoo.cfg on server 3 (old 8, 127.0.10.8) (add server.4)", 16908, 34],
  ["grow-4/restart-1", "Restart follower 1 of 2", 16942, 1831, 2, null],
  ["grow-4/restart-2", "Restart follower 2 of 2", 18773, 1671, 3, null],
  ["grow-4/restart-3", "Restart the leader (last of 3)", 20444, 3606, 1, [1, 4, 1505]],
  ["grow-5/backup", "Move the old data of server 5 (old 9, 127.0.10.9) to a dated backup", 24050, 23],
  ["grow-5/config-5", "Write myid 5 and a 5-server zoo.cfg on server 5 (old 9, 127.0.10.9)", 24073, 29],
  ["grow-5/start", "Start server 5 (old 9, 127.0.10.9)", 24102, 1129],
  ["grow-5/config-1", "Write the 5-server zoo.cfg on temporary server 1 (127.0.10.1) (add server.5)", 25231, 32],
  ["grow-5/config-2", "Write the 5-server zoo.cfg on server 2 (old 6, 127.0.10.6) (add server.5)", 25263, 15],
  ["grow-5/config-3", "Write the 5-server zoo.cfg on server 3 (old 8, 127.0.10.8) (add server.5)", 25278, 13],
  ["grow-5/config-4", "Write the 5-server zoo.cfg on server 4 (old 7, 127.0.10.7) (add server.5)", 25292, 25],
  ["grow-5/restart-1", "Restart follower 1 of 3", 25318, 2389, 1, null],
  ["grow-5/restart-2", "Restart follower 2 of 3", 27707, 2442, 2, null],
  ["grow-5/restart-3", "Restart follower 3 of 3", 30149, 1659, 3, null],
  ["grow-5/restart-4", "Restart the leader (last of 4)", 31809, 3351, 4, [4, 5, 1511]],
  ["grow-6/backup", "Move the old data of server 6 (old 10, 127.0.10.10) to a dated backup", 35160, 18],
  ["grow-6/config-6", "Write myid 6 and a 6-server zoo.cfg on server 6 (old 10, 127.0.10.10)", 35178, 39],
  ["grow-6/start", "Start server 6 (old 10, 127.0.10.10)", 35217, 1145],
  ["grow-6/config-1", "Write the 6-server zoo.cfg on temporary server 1 (127.0.10.1) (add server.6)", 36362, 12],
  ["grow-6/config-2", "Write the 6-server zoo.cfg on server 2 (old 6, 127.0.10.6) (add server.6)", 36374, 18],
  ["grow-6/config-3", "Write the 6-server zoo.cfg on server 3 (old 8, 127.0.10.8) (add server.6)", 36392, 15],
  ["grow-6/config-4", "Write the 6-server zoo.cfg on server 4 (old 7, 127.0.10.7) (add server.6)", 36407, 14],
  ["grow-6/config-5", "Write the 6-server zoo.cfg on server 5 (old 9, 127.0.10.9) (add server.6)", 36421, 25],
  ["grow-6/restart-1", "Restart follower 1 of 4", 36446, 1983, 1, null],
  ["grow-6/restart-2", "Restart follower 2 of 4", 38429, 2326, 2, null],
  ["grow-6/restart-3", "Restart follower 3 of 4", 40755, 1649, 3, null],
  ["grow-6/restart-4", "Restart follower 4 of 4", 42404, 1629, 4, null],
  ["grow-6/restart-5", "Restart the leader (last of 5)", 44033, 2461, 5, [5, 6, 1284]],
  ["retire/stop-1", "Stop temporary server 1 (127.0.10.1)", 46494, 132],
  ["retire/config-2", "Write the 5-server zoo.cfg on server 2 (old 6, 127.0.10.6) (remove server.1)", 46626, 25],
  ["retire/config-3", "Write the 5-server zoo.cfg on server 3 (old 8, 127.0.10.8) (remove server.1)", 46651, 25],
  ["retire/config-4", "Write the 5-server zoo.cfg on server 4 (old 7, 127.0.10.7) (remove server.1)", 46676, 23],
  ["retire/config-5", "Write the 5-server zoo.cfg on server 5 (old 9, 127.0.10.9) (remove server.1)", 46699, 42],
  ["retire/config-6", "Write the 5-server zoo.cfg on server 6 (old 10, 127.0.10.10) (remove server.1)", 46742, 34],
  ["retire/restart-1", "Restart follower 1 of 4", 46776, 2119, 2, null],
  ["retire/restart-2", "Restart follower 2 of 4", 48895, 1604, 3, null],
  ["retire/restart-3", "Restart follower 3 of 4", 50499, 1781, 4, null],
  ["retire/restart-4", "Restart follower 4 of 4", 52280, 1244, 5, null],
  ["retire/restart-5", "Restart the leader (last of 5)", 53524, 2680, 6, [6, 5, 1499]],
  ["final/check", "Check the ensemble of 5: one leader, 4 synced followers, writes accepted, every server on 3.4.13, the same data everywhere", 56204, 2137, null, null, ["persistent copies of ephemeral nodes: 3, 3 shadowed by their re-registered owners; remove the shadowed ones with: zkroll copies /check/work/main/plans/codis-incident.yaml --clean"]],
];

/** The run's start (epoch ms). */
export const T0 = Date.UTC(2026, 11, 1, 0, 1, 57, 204);

/** Host of each new myid, and the label the sampler gives it. */
const HOST: Record<number, string> = { 1: '127.0.10.1', 2: '127.0.10.6', 3: '127.0.10.8', 4: '127.0.10.7', 5: '127.0.10.9', 6: '127.0.10.10' };
const LABEL: Record<string, string> = {
  '127.0.10.1': '127.0.10.1 · myid 1',
  '127.0.10.6': '127.0.10.6 · myid 6→2',
  '127.0.10.7': '127.0.10.7 · myid 7→4',
  '127.0.10.8': '127.0.10.8 · myid 8→3',
  '127.0.10.9': '127.0.10.9 · myid 9→5',
  '127.0.10.10': '127.0.10.10 · myid 10→6',
};

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

/** The host a step acts on (a slot: the server it resolved to), from its title or its slot. */
function hostOf(s: ReportStep): string | null {
  if (s.resolved !== null) return HOST[s.resolved] ?? null;
  return /\((?:old \d+, )?(127\.0\.10\.\d+)\)/.exec(s.title)?.[1] ?? null;
}

/** The simulated states: each server's state changes as the 250 ms sampler would see them. */
export function states(list: ReportStep[]): StateChange[] {
  const now = new Map<string, ServerState>(
    Object.entries({
      '127.0.10.1': 'down',
      '127.0.10.6': 'looking',
      '127.0.10.7': 'following',
      '127.0.10.8': 'looking',
      '127.0.10.9': 'following',
      '127.0.10.10': 'leading',
    }),
  );
  const events: { t: number; host: string; state: ServerState }[] = [...now].map(([host, state]) => ({ t: T0 + 200, host, state }));
  const at = (t: number, host: string, state: ServerState) => {
    events.push({ t, host, state });
    now.set(host, state);
  };
  /** The servers up besides `host` (they look for a leader in an election). */
  const others = (host: string) => [...now.keys()].filter((h) => h !== host && now.get(h) !== 'down');
  for (const s of list) {
    const from = Date.parse(s.startedAt!);
    const to = Date.parse(s.endedAt!);
    const host = hostOf(s);
    const [, kind] = s.id.split('/');
    if (!host || !kind) continue;
    if (kind.startsWith('stop')) {
      at(from + 40, host, 'down');
      // the old ensemble (7, 9, 10 of 5) loses its quorum
      if (s.id === 'old/stop-7') for (const h of ['127.0.10.9', '127.0.10.10']) at(from + 50, h, 'looking');
    } else if (kind.startsWith('start')) {
      at(from + 500, host, 'looking');
      at(to - 150, host, 'following');
      if (s.id === 'mini/start-2') at(to - 150, '127.0.10.1', 'leading');
    } else if (kind.startsWith('restart')) {
      at(from + 100, host, 'down');
      if (s.election) {
        const end = from + 120 + s.election.ms;
        const voters = others(host);
        for (const h of voters) at(from + 120, h, 'looking');
        for (const h of voters) at(end, h, h === HOST[s.election.to!] ? 'leading' : 'following');
      }
      at(from + 700, host, 'looking');
      at(to - 200, host, 'following');
    }
  }
  const sampled = events.map((e) => ({ ...e, t: T0 + Math.ceil((e.t - T0) / 250) * 250 + (e.host.length % 7) })).sort((a, b) => a.t - b.t);
  const out: StateChange[] = [];
  const last = new Map<string, ServerState>();
  for (const e of sampled) {
    if (last.get(e.host) === e.state) continue;
    last.set(e.host, e.state);
    out.push({ t: e.t, server: `${e.host}:2181`, label: LABEL[e.host]!, state: e.state });
  }
  return out;
}

/** The writer's log: writing since the lab came up, an outage at each election and while the old ensemble lost its quorum. */
export function clientEvents(list: ReportStep[]): ClientEvent[] {
  const out: ClientEvent[] = [
    { t: T0 - 95_000, event: 'start' },
    { t: T0 - 94_950, event: 'ok', acked: 1 },
  ];
  let acked = 1;
  const outage = (from: number, ms: number, error: string) => {
    acked += Math.round(ms / 66);
    out.push({ t: from, event: 'error', error, acked }, { t: from + ms, event: 'ok', acked });
  };
  for (const s of list) {
    const from = Date.parse(s.startedAt!);
    if (s.election) outage(from + 110, s.election.ms + 260, 'no answer within 250 ms');
    if (s.id === 'old/stop-7') outage(from + 290, 2350, 'set /lab-writer/w: -4 connection loss');
  }
  for (let t = T0 - 35_000; t < T0 + 60_000; t += 60_000) out.push({ t, event: 'heartbeat', acked: acked + Math.round((t - T0) / 66) });
  return out;
}

/** The whole input: the incident run, its states and the lab writer. */
export function incidentInput(): ReportInput {
  const list = steps();
  const report: ReportJson = { runId: '20261201T000157Z', startedAt: new Date(T0 - 6).toISOString(), state: 'done', failure: null, steps: list };
  return { report, cluster: 'codis-incident', states: states(list), client: { name: 'lab writer', events: clientEvents(list) }, now: T0 + 60_000 };
}
