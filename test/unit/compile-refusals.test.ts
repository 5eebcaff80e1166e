// Every refusal of the compiler has a test: the plan is valid YAML and passes the plan rules,
// but cannot be run without losing quorum; the message says why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { compile, Refusal } from '../../src/compile/index.js';
import { QuorumModel } from '../../src/compile/quorum.js';
import { loadPlanText } from '../../src/plan/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function doc(n: number, strategy: object) {
  return {
    version: 1,
    cluster: { name: 'refuse' },
    ssh: { user: 'root' },
    servers: Array.from({ length: n }, (_, i) => ({ myid: i + 1, host: `10.0.0.${i + 1}`, home: '/opt/zk', dataDir: '/data/zk' })),
    target: { version: '3.4.13', home: '/opt/zk-new' },
    strategy,
  };
}

function rebuild(n: number, broken: number[]) {
  return doc(n, {
    kind: 'rebuild',
    temporary: { myid: 100, host: '10.0.1.1', dataDir: '/data/zk' },
    broken,
    renumber: Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i + 1), i + 101])),
  });
}

function refusal(d: object): string {
  const r = loadPlanText(stringify(d), 'r.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  try {
    compile(r.plan);
  } catch (e) {
    assert.ok(e instanceof Refusal);
    return e.message;
  }
  assert.fail('compiled');
}

describe('compile: refusals', () => {
  it('rolling with 1 or 2 servers: every restart loses quorum', () => {
    assert.match(
      refusal(doc(2, { kind: 'rolling' })),
      /rolling restart of 2 voting servers cannot keep a quorum: with one voter down, 1 of 2 is below the quorum of 2/,
    );
    assert.match(refusal(doc(1, { kind: 'rolling' })), /1 voting server cannot keep a quorum/);
  });

  it('rebuild with one broken server: a 2-server mini-ensemble', () => {
    assert.match(refusal(rebuild(5, [1])), /mini-ensemble \(temporary server 100 \+ 1\) would have 2 servers.*at least 2 servers as broken/);
  });

  it('rebuild with no broken server: the temporary server alone', () => {
    assert.match(refusal(rebuild(5, [])), /would have 1 server:/);
  });

  it('rebuild whose old ensemble has no quorum without the broken servers', () => {
    assert.match(refusal(rebuild(5, [1, 2, 3])), /current ensemble would not be serving: only 2 of 5 servers \(4, 5\) run, quorum is 3/);
  });

  it('a configuration change of more than one voter', () => {
    const m = new QuorumModel();
    m.formNew([1, 2, 3]);
    assert.throws(() => m.beginRound([1, 2, 3, 4, 5]), /changes 2 voters at once/);
  });

  it('the CLI prints the refusal with the file name and exits 2', () => {
    const f = path.join(os.tmpdir(), `zkroll-refuse-${process.pid}.yaml`);
    fs.writeFileSync(f, stringify(doc(2, { kind: 'rolling' })));
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'bin', 'zkroll'), 'plan', f], { encoding: 'utf8' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`^${f.replace(/[.]/g, '\\.')}: refused: a rolling restart of 2 voting servers`));
      assert.equal(r.stdout, '');
    } finally {
      fs.rmSync(f);
    }
  });
});
