// The crash matrix's sample in CI: one chain of a few kill points of the incident recovery, and
// one of the recovery by reconfig, picked at random (the seed is printed; ZKROLL_CRASH_SEED
// replays it, and so does `npm run test:crash -- [--scenario reconfig] --sample N --seed S`),
// killed with SIGKILL and resumed to the end, with
// the end state checked from the servers and no acknowledged write lost. The whole matrix is
// `npm run test:crash` (test/crash/main.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { runChain } from '../crash/chain.js';
import { killPoints, sample } from '../crash/points.js';
import { SCENARIOS } from '../crash/scenarios.js';

/** Points per CI run, per scenario. */
const SAMPLE: Record<string, number> = { incident: 4, reconfig: 3 };

describe('crash matrix: a random sample', () => {
  for (const [name, count] of Object.entries(SAMPLE)) {
    const sc = SCENARIOS[name]!;
    it(`${name}: killed with SIGKILL at sampled points and resumed, it ends right with no acknowledged write lost`, async () => {
      const loaded = loadPlanFile(sc.plan);
      assert.ok(loaded.ok);
      const steps = compile(loaded.plan).steps;
      const seed = process.env['ZKROLL_CRASH_SEED'] ? Number(process.env['ZKROLL_CRASH_SEED']) : Math.floor(Math.random() * 2 ** 31);
      const points = sample(killPoints(steps), count, seed);
      process.stdout.write(
        `# crash sample (${name}) seed ${seed}: ${points.map((p) => p.name).join(' ')} (replay: npm run test:crash -- --scenario ${name} --sample ${count} --seed ${seed})\n`,
      );
      const r = await runChain(sc, points, steps.length, (l) => process.stdout.write(`# ${l}\n`));
      process.stdout.write(`# crash sample (${name}): ${r.resumes} resumes, ${r.acked} writes acknowledged, ${r.lost} lost, ${(r.ms / 1000).toFixed(1)} s\n`);
      for (const p of r.points) assert.equal(p.outcome, 'killed', `${p.point}: ${p.errors.join('; ')}`);
      assert.deepEqual(
        r.points.filter((p) => p.failedResumes > 0).map((p) => `${p.point}: ${p.errors.join('; ')}`),
        [],
      );
      assert.deepEqual(r.endErrors, []);
      assert.ok(r.acked > 100, `the client wrote throughout (${r.acked} acknowledged)`);
    });
  }
});
