// `npm run test:crash`: the whole crash matrix on the lab, or part of it.
//   npm run test:crash                       every point, in chains of about 12 points each
//   npm run test:crash -- --chains 4         every point, in 4 chains
//   npm run test:crash -- --points 13:copy,30:gate   one chain of the points named (replay)
//   npm run test:crash -- --sample 4 --seed 7        one chain of 4 points picked by the seed
//   npm run test:crash -- --scenario reconfig        the incident recovered by reconfig (scenarios.ts)
// Prints a line per kill, a line per chain and the totals, writes them as JSON (--out, default
// crash-matrix.json in the state's temp dir) and exits 1 when any point or end state failed.
// Needs root and the lab's tools, as `npm run test:lab` does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compile } from '../../src/compile/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { runChain, type ChainResult } from './chain.js';
import { SCENARIOS } from './scenarios.js';
import { byName, chains, killPoints, sample, type KillPoint } from './points.js';

const { values } = parseArgs({
  options: {
    chains: { type: 'string' },
    points: { type: 'string' },
    sample: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    scenario: { type: 'string' },
  },
});

const sc = SCENARIOS[values.scenario ?? 'incident'];
if (!sc) throw new Error(`no scenario ${values.scenario} (${Object.keys(SCENARIOS).join(', ')})`);
const loaded = loadPlanFile(sc.plan);
if (!loaded.ok) throw new Error(`cannot load ${sc.plan}`);
const steps = compile(loaded.plan).steps;
const all = killPoints(steps);

function plan(): KillPoint[][] {
  if (values.points) return [byName(all, values.points.split(','))];
  if (values.sample) {
    const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
    process.stdout.write(`sample seed ${seed} (replay: npm run test:crash -- --sample ${values.sample} --seed ${seed})\n`);
    return [sample(all, Number(values.sample), seed)];
  }
  return chains(all, values.chains ? Number(values.chains) : Math.ceil(all.length / 12));
}

const todo = plan();
const out = values.out ?? path.join(os.tmpdir(), 'crash-matrix.json');
process.stdout.write(`crash matrix: ${todo.reduce((n, c) => n + c.length, 0)} of ${all.length} points of ${steps.length} steps, in ${todo.length} chain(s)\n`);
const t0 = Date.now();
const results: ChainResult[] = [];
for (const [i, chain] of todo.entries()) {
  process.stdout.write(`chain ${i + 1}/${todo.length}: ${chain.map((p) => p.name).join(' ')}\n`);
  const r = await runChain(sc, chain, steps.length, (l) => process.stdout.write(`${l}\n`));
  results.push(r);
  const bad = r.points.filter((p) => p.outcome !== 'killed' || p.failedResumes > 0);
  process.stdout.write(
    `chain ${i + 1}: ${r.ok ? 'PASS' : 'FAIL'} in ${(r.ms / 1000).toFixed(1)} s: ${r.points.length - bad.length}/${r.points.length} points, ` +
      `${r.resumes} resumes, ${r.acked} writes acknowledged, ${r.lost} lost\n`,
  );
  for (const p of bad) process.stdout.write(`  ${p.point} (${p.what}): ${p.outcome}, ${p.errors.join('; ')}\n`);
  for (const e of r.endErrors) process.stdout.write(`  end state: ${e}\n`);
  fs.writeFileSync(out, JSON.stringify({ points: all.length, chains: results }, null, 2));
}
const pts = results.flatMap((r) => r.points);
const passed = pts.filter((p) => p.outcome === 'killed' && p.failedResumes === 0).length;
const okChains = results.filter((r) => r.ok).length;
process.stdout.write(
  `crash matrix: ${passed}/${pts.length} points passed, ${okChains}/${results.length} chains with the right end state, ` +
    `${results.reduce((n, r) => n + r.acked, 0)} writes acknowledged, ${results.reduce((n, r) => n + Math.max(0, r.lost), 0)} lost, ` +
    `${((Date.now() - t0) / 60000).toFixed(1)} min (${out})\n`,
);
process.exitCode = okChains === results.length && passed === pts.length ? 0 : 1;
