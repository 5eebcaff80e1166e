// The crash matrix's sample in CI: one chain of a few kill points of the incident recovery picked
// at random (the seed is printed; ZKROLL_CRASH_SEED replays it, and so does
// `npm run test:crash -- --sample N --seed S`), killed with SIGKILL and resumed to the end, with
// the end state checked from the servers and no acknowledged write lost. The whole matrix is
// `npm run test:crash` (test/crash/main.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { runChain } from '../crash/chain.js';
import { killPoints, sample } from '../crash/points.js';
import { incident } from './helpers.js';

/** Points per CI run. */
const SAMPLE = 4;

describe('crash matrix: a random sample', () => {
  it('killed with SIGKILL at sampled points and resumed, the incident ends right with no acknowledged write lost', async () => {
    const loaded = loadPlanFile(incident);
    assert.ok(loaded.ok);
    const steps = compile(loaded.plan).steps;
    const seed = process.env['ZKROLL_CRASH_SEED'] ? Number(process.env['ZKROLL_CRASH_SEED']) : Math.floor(Math.random() * 2 ** 31);
    const points = sample(killPoints(steps), SAMPLE, seed);
    process.stdout.write(`# crash sample seed ${seed}: ${points.map((p) => p.name).join(' ')} (replay: ZKROLL_CRASH_SEED=${seed})\n`);
    const r = await runChain(points, steps.length, (l) => process.stdout.write(`# ${l}\n`));
    process.stdout.write(`# crash sample: ${r.resumes} resumes, ${r.acked} writes acknowledged, ${r.lost} lost, ${(r.ms / 1000).toFixed(1)} s\n`);
    for (const p of r.points) assert.equal(p.outcome, 'killed', `${p.point}: ${p.errors.join('; ')}`);
    assert.deepEqual(
      r.points.filter((p) => p.failedResumes > 0).map((p) => `${p.point}: ${p.errors.join('; ')}`),
      [],
    );
    assert.deepEqual(r.endErrors, []);
    assert.ok(r.acked > 100, `the client wrote throughout (${r.acked} acknowledged)`);
  });
});
