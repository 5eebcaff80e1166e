// ZOOKEEPER-3056 in the compiled steps: a 3.4 → 3.5+ plan sets snapshot.trust.empty=true in
// every first target zoo.cfg and removes it in later steps that wait for a snapshot; other
// version pairs do neither. Every plan ends with a version gate on the target.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/compile/index.js';
import { needsTrustEmpty, TRUST_EMPTY } from '../../src/compile/traps.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';

const plans = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../plans');
function plan(name: string): Plan {
  const r = loadPlanFile(path.join(plans, name));
  assert.ok(r.ok);
  return r.plan;
}
const withVersions = (p: Plan, current: string | undefined, target: string): Plan => ({
  ...p,
  cluster: { ...p.cluster, ...(current ? { version: current } : { version: undefined }) },
  target: { ...p.target, version: target },
});

describe('ZOOKEEPER-3056: snapshot.trust.empty for 3.4 → 3.5+', () => {
  it('applies to 3.4.x → 3.5+ only, and only when the current version is stated', () => {
    const p = plan('upgrade-3.4-to-3.8.yaml');
    assert.equal(needsTrustEmpty(p), true);
    assert.equal(needsTrustEmpty(withVersions(p, '3.4.6', '3.4.13')), false);
    assert.equal(needsTrustEmpty(withVersions(p, '3.8.0', '3.9.3')), false);
    assert.equal(needsTrustEmpty(withVersions(p, undefined, '3.8.0')), false);
    // from before 3.5.3 (no snapshot check yet), 3.5.0-3.5.2 included; 3.5.3-3.5.6 targets are refused by the hazards
    assert.equal(needsTrustEmpty(withVersions(p, '3.5.2', '3.8.0')), true);
    assert.equal(needsTrustEmpty(withVersions(p, '3.5.3', '3.8.0')), false);
  });

  it('a target without ZOOKEEPER-3781 (3.6.3) sets the key but never waits to remove it (followers synced by DIFF write no snapshot)', () => {
    const p = withVersions(plan('upgrade-3.4-to-3.8.yaml'), '3.4.13', '3.6.3');
    const c = compile(p);
    assert.ok(c.steps.some((s) => s.files.some((f) => f.kind === 'zoo.cfg' && f.set?.some((k) => k.key === TRUST_EMPTY))));
    assert.equal(
      c.steps.some((s) => s.id.startsWith('trust-empty/') || s.before !== undefined),
      false,
    );
    assert.match(c.steps[0]!.reason, /left in place: 3\.6\.3 lacks ZOOKEEPER-3781/);
    const withFix = compile(withVersions(p, '3.4.13', '3.6.4'));
    assert.equal(withFix.steps.filter((s) => s.id.startsWith('trust-empty/')).length, 3);
  });

  it('rolling: the prepare steps set it, and one step per server removes it once a snapshot exists', () => {
    const c = compile(plan('upgrade-3.4-to-3.8.yaml'));
    const prepares = c.steps.filter((s) => s.action === 'prepare-install');
    for (const s of prepares) {
      const cfg = s.files.find((f) => f.kind === 'zoo.cfg');
      assert.deepEqual(cfg?.kind === 'zoo.cfg' && cfg.set, [{ key: TRUST_EMPTY, value: 'true' }], s.id);
    }
    const drops = c.steps.filter((s) => s.id.startsWith('trust-empty/'));
    assert.deepEqual(
      drops.map((s) => s.id),
      ['trust-empty/1', 'trust-empty/2', 'trust-empty/3'],
    );
    const lastRestart = Math.max(...c.steps.filter((s) => s.action === 'restart').map((s) => s.n));
    for (const d of drops) {
      assert.ok(d.n > lastRestart, 'after every server has restarted on the target');
      assert.deepEqual(
        d.before?.map((g) => g.kind),
        ['snapshot'],
      );
      const f = d.files[0]!;
      assert.ok(f.kind === 'zoo.cfg' && f.unset?.includes(TRUST_EMPTY) && f.base === f.path);
    }
  });

  it('rebuild 3.4 → 3.5+: every first config sets it, and it is removed before the final check', () => {
    const p = withVersions(plan('codis-incident.yaml'), '3.4.6', '3.8.0');
    const c = compile(p);
    const firsts = c.steps.flatMap((s) => s.files).filter((f) => f.kind === 'zoo.cfg' && f.set !== undefined);
    assert.ok(firsts.length >= 6, `${firsts.length} first configs`);
    const drops = c.steps.filter((s) => s.id.startsWith('trust-empty/'));
    assert.equal(drops.length, 5);
    assert.equal(c.steps.at(-1)!.n, drops.at(-1)!.n + 1);
  });

  it('the incident (3.4.6 → 3.4.13) and the 3.8 → 3.9 roll have no such step', () => {
    for (const name of ['codis-incident.yaml', 'rolling-upgrade.yaml']) {
      const c = compile(plan(name));
      assert.equal(
        c.steps.some((s) => s.id.startsWith('trust-empty/') || s.files.some((f) => f.kind === 'zoo.cfg' && f.set)),
        false,
        name,
      );
    }
  });

  it('every plan ends with a gate: each server reports the target version', () => {
    for (const name of ['codis-incident.yaml', 'rolling-upgrade.yaml', 'upgrade-3.4-to-3.8.yaml']) {
      const p = plan(name);
      const g = compile(p)
        .steps.at(-1)!
        .gates.find((x) => x.kind === 'version');
      assert.ok(g && g.kind === 'version' && g.version === p.target.version && g.members.length === p.servers.length, name);
    }
  });
});

describe('ZOOKEEPER-4925: a roll onto 3.9.3 makes its last restart a full sync', () => {
  it('the leader slot moves version-2 aside between the stop and the start; other slots and targets do not', () => {
    const steps = compile(plan('rolling-upgrade.yaml')).steps.filter((s) => s.action === 'restart');
    const kinds = (s: (typeof steps)[number]) => s.byMember![0]!.commands.map((c) => c.does.split(' ')[0]);
    assert.deepEqual(steps.map(kinds), [
      ['stop', 'start'],
      ['stop', 'start'],
      ['stop', 'move', 'start'],
    ]);
    assert.match(steps.at(-1)!.reason, /full snapshot from the new leader.*ZOOKEEPER-4925/);
    const to394 = compile(withVersions(plan('rolling-upgrade.yaml'), '3.8.0', '3.9.4')).steps.filter((s) => s.action === 'restart');
    assert.deepEqual(to394.map(kinds), [
      ['stop', 'start'],
      ['stop', 'start'],
      ['stop', 'start'],
    ]);
  });
});
