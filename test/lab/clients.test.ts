// Lab test: clients of several versions keep reading and writing through a run. `lab up` on the
// 3.4 → 3.8 upgrade plan (three real 3.4.13 servers) with a proxy starts, beside the C-client
// proxy and the node writer, the Java clients of two real releases (3.4.6, the newest 3.4 whose
// client connects on this JDK, and 3.8.0), each on its release's own classpath → both are
// answered (their znodes change, with their data) → `zkroll apply --yes` upgrades the ensemble
// server by server to 3.8.0, leader last → each client's log shows its outages during the run,
// each ended by an answer, with its failed operations, writes and reads counted all through →
// the run's report.html draws a lane per client → `lab down` ends them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { JAVA_CLIENT_RELEASES, javaClientPath } from '../../src/lab/javaclients.js';
import { labClients, labDir, readState } from '../../src/lab/lab.js';
import { isAlive, pollUntil } from '../../src/lab/procs.js';
import { clientLane, parseClientLog, type ClientEvent } from '../../src/report/model.js';
import { reportHtmlFile, writeReportHtml } from '../../src/report/write.js';
import { ZkClient } from '../../src/zk/client.js';
import { labDown, run, runAsync, stateEnv, upgrade34 } from './helpers.js';

const CLUSTER = 'upgrade-34-38';
const HOSTS = ['127.0.40.1', '127.0.40.2', '127.0.40.3'];
const CONNECT = HOSTS.map((h) => `${h}:2181`).join(',');
/** The data every lab Java client writes (java/ZkrollLabClient.java DATA). */
const DATA = 'zkroll lab client';

const events = (file: string): ClientEvent[] => parseClientLog(fs.readFileSync(file, 'utf8'));
const outcomes = (evs: ClientEvent[]) => evs.filter((e) => e.event === 'ok' || e.event === 'error');

describe('lab: Java clients of two releases through a 3.4 → 3.8 rolling upgrade', () => {
  after(() => labDown(upgrade34));

  it('read and write before, through and after the run; each shows its outages and recovers; the report draws a lane each', { timeout: 900_000 }, async () => {
    labDown(upgrade34);
    const up = run(process.env, ['lab', 'up', upgrade34, '--znodes', '50', '--proxies', '1']);
    assert.equal(up.code, 0, `lab up: ${up.out}\n${up.err}`);
    process.stdout.write(`# lab up (upgrade-3.4-to-3.8, 3 servers, 1 proxy, writer, 2 Java clients): ${up.ms} ms\n`);
    assert.match(up.out, /Java client 3\.4\.6 and Java client 3\.8\.0 write and read/);
    assert.doesNotMatch(up.out, /warning/);
    const st = readState(labDir(CLUSTER))!;
    const java = st.javaClients ?? [];
    assert.deepEqual(
      java.map((c) => [c.release, c.name]),
      JAVA_CLIENT_RELEASES.map((r) => [r, `Java client ${r}`]),
    );
    for (const c of java) assert.ok(isAlive(c.pid), `${c.name} runs`);
    const status = run(process.env, ['lab', 'status', upgrade34]);
    assert.match(status.out, /clients: lab writer \(node\) running, Java client 3\.4\.6 running, Java client 3\.8\.0 running/);

    // answered before the run: lab up waited for each one's first answer; its znode keeps changing, with its data
    for (const c of java) {
      const first = events(c.log);
      assert.deepEqual(
        first.slice(0, 2).map((e) => e.event),
        ['start', 'ok'],
        `${c.name}: ${JSON.stringify(first)}`,
      );
      assert.ok(first[0]!.version?.startsWith(`${c.release}-`), `${c.name} runs its release's library: ${first[0]!.version}`);
    }
    const zk = await ZkClient.connect(CONNECT, 10000);
    try {
      for (const r of JAVA_CLIENT_RELEASES) {
        const before = await zk.get(javaClientPath(r));
        assert.equal(before.data.toString(), DATA);
        await pollUntil(
          `the znode of the Java client ${r} to change`,
          10_000,
          100,
          async () => (await zk.exists(javaClientPath(r)))?.mzxid !== before.stat.mzxid,
        );
      }
      assert.equal((await zk.getChildren('/lab/data')).length, 50, 'the Java clients write outside /lab');
    } finally {
      zk.close();
    }

    const env = stateEnv('javaclients');
    const t0 = Date.now();
    const r = await runAsync(env, ['apply', upgrade34, '--yes']);
    const t1 = Date.now();
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);

    // after the run every client is answered again (the last restart ends its outage)
    for (const c of java) await pollUntil(`${c.name} to be answered after the run`, 30_000, 200, () => outcomes(events(c.log)).at(-1)?.event === 'ok');
    const summary: string[] = [];
    for (const c of java) {
      const evs = events(c.log);
      const during = evs.filter((e) => e.t >= t0 && e.t <= t1);
      assert.ok(
        during.some((e) => e.event === 'error'),
        `${c.name}: its server restarted, so it saw an outage during the run: ${JSON.stringify(during)}`,
      );
      // every outage ended by an answer, which says how many operations failed and the last error
      const seq = outcomes(evs);
      seq.forEach((e, i) => {
        if (e.event !== 'error') return;
        const ok = seq[i + 1];
        assert.equal(ok?.event, 'ok', `${c.name}: the outage from ${e.t} ended with an answer`);
        assert.ok((ok!.failed ?? 0) >= 1 && typeof ok!.lastError === 'string', `${c.name}: ${JSON.stringify(ok)}`);
      });
      const last = seq.at(-1)!;
      assert.ok(last.t >= t0 && (last.acked ?? 0) >= 20 && (last.reads ?? 0) >= 20, `${c.name} wrote and read all along: ${JSON.stringify(last)}`);
      const lane = clientLane(c.name, evs, { from: t0, to: t1 });
      summary.push(`${c.name}: ${lane.outages.length} outages, ${lane.errors.count} errors, longest ${Math.max(...lane.outages.map((o) => o.to - o.from))} ms`);
    }
    process.stdout.write(`# apply upgrade-3.4-to-3.8 with the Java clients: ${r.ms} ms; ${summary.join('; ')}\n`);

    // their data is the same on every server (the data checks compare it)
    for (const h of HOSTS) {
      const one = await ZkClient.connect(`${h}:2181`, 10000);
      try {
        for (const rel of JAVA_CLIENT_RELEASES) assert.equal((await one.get(javaClientPath(rel))).data.toString(), DATA, `${h}: ${javaClientPath(rel)}`);
      } finally {
        one.close();
      }
    }

    // the run's picture: a lane per client, with its outages
    const runDir = path.join(env['ZKROLL_STATE_DIR']!, CLUSTER);
    const clients = labClients(CLUSTER);
    assert.deepEqual(
      clients.map((c) => c.name),
      ['lab writer (node)', 'Java client 3.4.6', 'Java client 3.8.0'],
    );
    assert.equal(writeReportHtml(runDir, { cluster: CLUSTER, clients }), null);
    const html = fs.readFileSync(reportHtmlFile(runDir), 'utf8');
    for (const c of clients) {
      const name = c.name.replace(/[.()]/g, '\\$&');
      assert.match(html, new RegExp(`class="lane" text-anchor="end">${name}</text>`), c.name);
      if (c.name.startsWith('Java')) assert.match(html, new RegExp(`<title>${name}: outage from \\+`), `${c.name}: its outages drawn`);
    }
    assert.match(html, /<h2>Client outages<\/h2>/);

    // SIGTERM (what lab down sends) ends a client with its counts; lab down ends the others
    const [first, second] = java;
    process.kill(first!.pid, 'SIGTERM');
    await pollUntil(`${first!.name} to exit`, 15_000, 50, () => !isAlive(first!.pid));
    const stop = events(first!.log).at(-1)!;
    assert.equal(stop.event, 'stop');
    assert.ok((stop.acked ?? 0) >= 20 && (stop.reads ?? 0) >= 20, JSON.stringify(stop));
    const down = run(process.env, ['lab', 'down', upgrade34]);
    assert.equal(down.code, 0, down.err);
    assert.equal(isAlive(second!.pid), false, `${second!.name} ended by lab down`);
    assert.equal(fs.existsSync(labDir(CLUSTER)), false);
  });
});
