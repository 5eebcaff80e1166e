// The bench's side-by-side of the two memberships of a rebuild (npm run bench -- --reconfig):
// the seed procedure of plans/codis-incident-reconfig.yaml run as written (reconfig, 3.8.0 →
// 3.9.3), as reconfig onto 3.8.0, and as the static strategy (membership: restart) onto 3.8.0 —
// the static strategy is refused onto 3.9.3 (ZOOKEEPER-4925), so the like-for-like pair is on
// 3.8.0. Each variant is a plan file written to a temporary directory from the reviewed one.
// Invariants: the variants differ from the plan only in cluster name (lab directory), target
// and membership; the addresses stay (one lab at a time); never asserts a time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StateChange } from '../src/run/sampler.js';

export interface Variant {
  /** How the table names it, e.g. "reconfig → 3.9.3". */
  name: string;
  file: string;
  cluster: string;
}

/** The three plans, written beside each other in a fresh temporary directory. */
export function membershipVariants(reconfigPlan: string): Variant[] {
  const text = fs.readFileSync(reconfigPlan, 'utf8');
  const releases = path.resolve(path.dirname(reconfigPlan), /releases: (\S+)/.exec(text)?.[1] ?? '.');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-bench-membership-'));
  const cluster = /name: (\S+)/.exec(text)![1]!;
  const variant = (name: string, tag: string, edit: (t: string) => string): Variant => {
    const c = `${cluster}-${tag}`;
    const file = path.join(dir, `${c}.yaml`);
    fs.writeFileSync(
      file,
      edit(text)
        .replace(`name: ${cluster}`, `name: ${c}`)
        .replaceAll(`/tmp/zkroll-lab/${cluster}/`, `/tmp/zkroll-lab/${c}/`)
        .replace(/releases: \S+/, `releases: ${releases}`),
    );
    return { name, file, cluster: c };
  };
  const to380 = (t: string) => t.replace(/  version: 3\.9\.3\n  home: \/opt\/zookeeper-3\.9\.3/, '  version: 3.8.0\n  home: /opt/zookeeper-3.8.0-new');
  return [
    variant('reconfig → 3.9.3', 'r393', (t) => t),
    variant('reconfig → 3.8.0', 'r380', to380),
    variant('restart → 3.8.0', 's380', (t) => to380(t).replace(/  membership: reconfig\n  reconfig:\n(    .*\n)+/, '')),
  ];
}

/**
 * Leaders that came up during a run, from the sampler's states.jsonl: every change to `leading`
 * that is not a server's first line (the old ensemble's leader at the start). A static round's
 * election and a reconfig's hand-off count alike.
 */
export function newLeaders(statesFile: string): number {
  if (!fs.existsSync(statesFile)) return 0;
  const seen = new Set<string>();
  let n = 0;
  for (const line of fs.readFileSync(statesFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const c = JSON.parse(line) as StateChange;
    if (seen.has(c.server) && c.state === 'leading') n++;
    seen.add(c.server);
  }
  return n;
}
