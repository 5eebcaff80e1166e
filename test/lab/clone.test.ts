// Lab test of `zkroll lab clone` (issue 14 part 2): a 3.8.0 lab stands in for production (a copy
// of plans/rolling-upgrade.yaml named clone-src, 127.0.20.x, with 1 MiB of bulk data so it has a
// snapshot past zxid 0 and logs after it; server 3 leads). Writes stopped (none run), then:
// a clone whose --net overlaps the source is refused with exit 2 and nothing created; the clone
// on 127.0.30.x has the same myids, roles, version and leader, the same data (the tree digests
// at their newest common zxid, and zkroll verify's walk over all six servers; 200 writes after the
// snapshot make the logs matter), its plan
// compiles and its apply (3.8.0 → 3.9.3) runs on the clone only; the source's data and conf
// directories are unchanged (sizes and mtimes) by the clone and by the rehearsal. Then the
// source is made to be led by server 1 (no lower sid: start order cannot make it win) and the
// clone takes the fallback placement (only the leader gets the data): 1 leads, same data.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { labDir } from '../../src/lab/lab.js';
import { ZkClient } from '../../src/zk/client.js';
import { probeSrvr, type Srvr } from '../../src/zk/fourlw.js';
import { verifyConsistency } from '../../src/zk/verify.js';
import { labDown, labUp, onHost, root, zkroll } from './helpers.js';

const SRC = ['127.0.20.1', '127.0.20.2', '127.0.20.3'];
const CLONE = ['127.0.30.1', '127.0.30.2', '127.0.30.3'];

function cli(...args: string[]): { code: number | null; out: string; err: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [zkroll, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

/** Every file and directory under the source host's data and conf directories, with size and mtime. */
function listing(ip: string): string {
  return onHost('clone-src', ip, "find /data/zookeeper /opt/zookeeper-3.8.0/conf -printf '%p %s %T@\\n' | sort");
}

/** Stop or start the source's ZooKeeper on `ip` (its own zkServer.sh, in the host's namespace). */
async function zkOn(ip: string, action: 'start' | 'stop'): Promise<void> {
  onHost('clone-src', ip, `cd /opt/zookeeper-3.8.0 && bin/zkServer.sh ${action} /opt/zookeeper-3.8.0/conf/zoo.cfg >/dev/null 2>&1`);
  if (action === 'stop') await waitModes([ip], [undefined]);
}

/** Wait (30 s at most) until the servers at `ips` answer srvr with `modes` (undefined: not serving). */
async function waitModes(ips: string[], modes: (string | undefined)[]): Promise<void> {
  let seen: (string | undefined)[] = [];
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    seen = (await srvrs(ips)).map((s) => s?.mode);
    if (seen.every((m, i) => m === modes[i])) return;
  }
  assert.fail(`servers ${ips.join(', ')}: modes ${seen.join(', ')}, expected ${modes.join(', ')}`);
}

async function srvrs(ips: string[]): Promise<(Srvr | null)[]> {
  return Promise.all(ips.map((ip) => probeSrvr(ip, 2181, 2000)));
}

describe('lab clone: a 3.8.0 lab cloned', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-clone-test-'));
  const src = path.join(tmp, 'src.yaml');
  const out = path.join(tmp, 'src.clone.yaml');
  let before0 = new Map<string, string>();

  before(async () => {
    const text = fs
      .readFileSync(path.join(root, 'plans/rolling-upgrade.yaml'), 'utf8')
      .replace('name: rolling-demo ', 'name: clone-src ')
      .replaceAll('/tmp/zkroll-lab/rolling-demo/', '/tmp/zkroll-lab/clone-src/')
      .replace('../../shared/zookeeper/dist', path.resolve(root, '../shared/zookeeper/dist'));
    fs.writeFileSync(src, text);
    labDown(out);
    const t0 = Date.now();
    labUp(src, '--data-mb', '1');
    process.stdout.write(`# source lab up (3 servers, 200 znodes + 1 MiB): ${Date.now() - t0} ms\n`);
    // writes after the newest snapshot (past a zxid multiple of 128: a tree digest both can log), then none
    const zk = await ZkClient.connect(SRC.map((h) => `${h}:2181`).join(','), 15000);
    try {
      await zk.mkdirp('/after-snapshot');
      await Promise.all(Array.from({ length: 200 }, (_, i) => zk.create(`/after-snapshot/n-${i}`, `v${i}`)));
    } finally {
      zk.close();
    }
    // the listing once nothing moves any more (a snapshot may still be written after the load)
    for (let i = 0; i < 20; i++) {
      const now = new Map(SRC.map((ip) => [ip, listing(ip)]));
      if ([...now].every(([ip, l]) => before0.get(ip) === l)) break;
      before0 = now;
      await new Promise((r) => setTimeout(r, 1000));
    }
  });

  after(() => {
    labDown(out);
    labDown(src);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a clone whose addresses overlap the source (exit 2), creating nothing', () => {
    const bad = path.join(tmp, 'overlap.yaml');
    const r = cli('lab', 'clone', src, '--net', '127.0.20.0/24', '--out', bad);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /refused: the clone's addresses 127\.0\.20\.1, 127\.0\.20\.2, 127\.0\.20\.3 .* are also addresses of the source/);
    assert.equal(fs.existsSync(bad), false);
    assert.equal(fs.existsSync(labDir('clone-src-clone')), false);
  });

  it('copies myids, roles, version, data and leader (start order); reads only; the clone plan compiles and applies to the clone', async () => {
    const source = await srvrs(SRC);
    assert.equal(source[2]?.mode, 'leader', 'server 3 leads the source');
    const r = cli('lab', 'clone', src, '--out', out);
    process.stdout.write(`# lab clone (start order): ${r.ms} ms\n${r.out.replace(/^/gm, '# ')}\n`);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /placement: start order: .* 2, 3 start first/);
    // a digest in common needs a zxid multiple of 128 after the copied snapshot, and with --data-mb's small snapCount
    // the leader may snapshot after it: then the walk below is the comparison
    assert.match(r.out, /tree digest at zxid 0x[0-9a-f]+: equal on the source and the clone|tree digest: none in common/);
    assert.doesNotMatch(r.out, /DIFFERENT/);
    assert.match(r.out, /snapshot\.[1-9a-f][0-9a-f]* +\d+ +[0-9a-f]{64}/, 'a snapshot past zxid 0 was copied');

    // the source is untouched (before any session is opened on it: a session is a transaction)
    for (const ip of SRC) assert.equal(listing(ip), before0.get(ip), `source host ${ip}: data and conf directories unchanged`);

    const clone = await srvrs(CLONE);
    assert.deepEqual(
      clone.map((s) => [s?.mode, s?.version]),
      source.map((s) => [s?.mode, s?.version]),
    );
    for (const [i, ip] of CLONE.entries()) {
      assert.equal(onHost('clone-src-clone', ip, 'cat /data/zookeeper/data/myid').trim(), String(i + 1));
      assert.match(onHost('clone-src-clone', ip, 'cat /opt/zookeeper-3.8.0/conf/zoo.cfg'), new RegExp(`clientPortAddress=${ip.replaceAll('.', '\\.')}\\n`));
    }
    const v = await verifyConsistency([...[...SRC, ...CLONE].map((host) => ({ label: host, host, port: 2181 }))]);
    assert.deepEqual(v.unreachable, []);
    assert.deepEqual(v.differences, [], `trees differ: ${JSON.stringify(v.differences.slice(0, 3))}`);
    assert.ok(v.paths > 1400, `compared ${v.paths} znodes`);

    const plan = cli('plan', out);
    assert.equal(plan.code, 0, plan.out + plan.err);
    assert.match(plan.out, /127\.0\.30\.3/);

    // the rehearsal: apply of the clone plan upgrades the clone, and the source stays as it was
    const quiet = new Map(SRC.map((ip) => [ip, listing(ip)]));
    const state = fs.mkdtempSync(path.join(tmp, 'state-'));
    const t0 = Date.now();
    const apply = spawnSync(process.execPath, [zkroll, 'apply', out, '--yes'], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, ZKROLL_STATE_DIR: state },
    });
    process.stdout.write(`# apply of the clone plan (3.8.0 → 3.9.3 on the clone): ${Date.now() - t0} ms\n`);
    assert.equal(apply.status, 0, apply.stdout + apply.stderr);
    assert.deepEqual(
      (await srvrs(CLONE)).map((s) => s?.version),
      ['3.9.3', '3.9.3', '3.9.3'],
    );
    assert.deepEqual(
      (await srvrs(SRC)).map((s) => s?.version),
      ['3.8.0', '3.8.0', '3.8.0'],
    );
    for (const ip of SRC) assert.equal(listing(ip), quiet.get(ip), `source host ${ip} unchanged by the rehearsal`);
  });

  it('fallback placement: the source led by server 1 (no lower sids): only 1 gets the data, 1 leads the clone, same data', async () => {
    labDown(out);
    // make server 1 lead the source: 3 stops (2 leads), a write only 1 and 2 have, 2 stops, 3
    // returns (1 has the higher zxid: it leads), then 2 returns
    await zkOn(SRC[2]!, 'stop');
    await waitModes(SRC.slice(0, 2), ['follower', 'leader']);
    const zk = await ZkClient.connect(
      SRC.slice(0, 2)
        .map((h) => `${h}:2181`)
        .join(','),
      15000,
    );
    await zk.create('/only-on-1-and-2', 'x').finally(() => zk.close());
    await zkOn(SRC[1]!, 'stop');
    await zkOn(SRC[2]!, 'start');
    await waitModes([SRC[0]!, SRC[2]!], ['leader', 'follower']);
    await zkOn(SRC[1]!, 'start');
    await waitModes(SRC, ['leader', 'follower', 'follower']);

    const r = cli('lab', 'clone', src, '--out', out);
    process.stdout.write(`# lab clone (source led by 1: leader only has data): ${r.ms} ms\n${r.out.replace(/^/gm, '# ')}\n`);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /placement: leader only has data: fewer than 1 voters have a sid below 1, .*only 1 gets the data/);
    assert.deepEqual(
      (await srvrs(CLONE)).map((s) => s?.mode),
      ['leader', 'follower', 'follower'],
    );
    const v = await verifyConsistency([...[SRC[0]!, ...CLONE].map((host) => ({ label: host, host, port: 2181 }))]);
    assert.deepEqual(v.differences, []);
    assert.ok(v.paths > 1400);
  });
});
