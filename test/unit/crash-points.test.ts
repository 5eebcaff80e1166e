// The crash matrix's points (test/crash/points.ts), derived from the compiled incident plan: every
// step boundary and the points inside the steps that act over time, chains that cover each point
// once, a seeded sample that replays, and names that resolve back to points.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { byName, chains, killPoints, sample } from '../crash/points.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const loaded = loadPlanFile(path.join(root, 'plans', 'codis-incident.yaml'));
assert.ok(loaded.ok);
const steps = compile(loaded.plan).steps;
const points = killPoints(steps);

describe('crash matrix points', () => {
  it('a boundary before every step, and the inside points by kind of step', () => {
    assert.equal(points.filter((p) => p.kind === 'start').length, steps.length);
    const restarts = steps.filter((s) => s.action === 'restart').length;
    const starts = steps.filter((s) => s.action === 'start').length;
    assert.ok(restarts >= 10 && starts >= 4, `${restarts} restarts, ${starts} starts`);
    assert.equal(points.filter((p) => p.kind === 'stop-start').length, restarts);
    assert.equal(points.filter((p) => p.kind === 'gate').length, restarts + starts);
    const copy = steps.find((s) => s.action === 'copy-seed-data')!;
    const split = steps.find((s) => s.action === 'split-window')!;
    assert.deepEqual(
      points.filter((p) => p.kind === 'copy' || p.kind === 'carry').map((p) => p.name),
      [`${copy.n}:copy`, `${split.n}:carry`],
    );
    assert.equal(new Set(points.map((p) => p.name)).size, points.length, 'names are unique');
    for (let i = 1; i < points.length; i++) assert.ok(points[i - 1]!.n <= points[i]!.n, 'in run order');
    const r = steps.find((s) => s.action === 'restart')!.n;
    assert.deepEqual(
      points.filter((p) => p.n === r).map((p) => p.name),
      [`${r}`, `${r}:stop-start`, `${r}:gate`],
    );
  });

  it('the recovery by reconfig: a point 150 ms into each reconfig, besides its boundary', () => {
    const r = loadPlanFile(path.join(root, 'plans', 'codis-incident-reconfig.yaml'));
    assert.ok(r.ok);
    const rs = compile(r.plan).steps;
    const ps = killPoints(rs);
    const reconfigs = rs.filter((s) => s.action === 'reconfig').map((s) => `${s.n}:during`);
    assert.equal(reconfigs.length, 4);
    for (const name of reconfigs)
      assert.ok(
        ps.some((p) => p.name === name),
        name,
      );
    assert.equal(ps.filter((p) => p.kind === 'start').length, rs.length);
  });

  it('chains cover every point once, each in run order and spread over the procedure', () => {
    const cs = chains(points, 9);
    assert.equal(cs.length, 9);
    assert.deepEqual(
      cs
        .flat()
        .map((p) => p.name)
        .sort(),
      points.map((p) => p.name).sort(),
    );
    for (const c of cs) {
      for (let i = 1; i < c.length; i++) assert.ok(c[i - 1]!.n <= c[i]!.n);
      assert.ok(c[0]!.n < 15 && c.at(-1)!.n > 50, c.map((p) => p.name).join(' '));
    }
  });

  it('a sample is the same for the same seed, distinct points in run order', () => {
    const a = sample(points, 4, 42);
    assert.deepEqual(sample(points, 4, 42), a);
    assert.equal(new Set(a.map((p) => p.name)).size, 4);
    assert.notDeepEqual(sample(points, 4, 43), a);
    assert.equal(sample(points, points.length + 5, 1).length, points.length);
  });

  it('names resolve back to points; an unknown name is refused', () => {
    assert.deepEqual(
      byName(points, ['30:gate', '13:copy', '5']).map((p) => p.name),
      ['5', '13:copy', '30:gate'],
    );
    assert.throws(() => byName(points, ['13:gate']), /no kill point 13:gate/);
  });
});
