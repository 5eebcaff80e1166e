// Property tests of the compiler over thousands of random valid plans (3–9 servers, random
// broken sets and renumberings, both strategies). The checks do not trust the compiler's own
// quorum bookkeeping: an independent simulator replays the steps (starts, stops, the configs
// the files write, slot restarts with an adversarially chosen leader) and checks quorum and
// one-voter-at-a-time membership changes itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { compile, Refusal, type Compiled, type NodeRef, type Step } from '../../src/compile/index.js';
import { loadPlanText } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';

const q = (n: number) => Math.floor(n / 2) + 1;

function planOf(doc: object): Plan {
  const r = loadPlanText(stringify(doc), 'prop.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

function baseDoc(ids: number[]) {
  return {
    version: 1,
    cluster: { name: 'prop' },
    ssh: { user: 'root' },
    servers: ids.map((id, i) => ({ myid: id, host: `10.0.0.${i + 10}`, home: '/opt/zk-old', dataDir: '/data/zk' })),
    target: { version: '3.4.13', home: '/opt/zk-new' },
  };
}

const rebuildArb = fc
  .integer({ min: 3, max: 9 })
  .chain((n) =>
    fc.record({
      ids: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: n, maxLength: n }),
      targets: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: n + 1, maxLength: n + 1 }),
      brokenMask: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      leaderPick: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
    }),
  )
  .map(({ ids, targets, brokenMask, leaderPick }) => {
    const [tempId, ...newIds] = targets;
    const broken = ids.filter((_, i) => brokenMask[i]);
    const doc = {
      ...baseDoc(ids),
      strategy: {
        kind: 'rebuild',
        temporary: { myid: tempId, host: '10.0.1.1', dataDir: '/data/zk' },
        broken,
        renumber: Object.fromEntries(ids.map((id, i) => [String(id), newIds[i]])),
      },
    };
    return { doc, ids, broken, tempId: tempId!, renumber: new Map(ids.map((id, i) => [id, newIds[i]!])), leaderPick };
  })
  // a plan with every server broken is a plan error (the loader's rule), not a compile question
  .filter((x) => x.broken.length < x.ids.length);

/** Independent replay: who runs with which configuration, checked at every step. */
function replay(c: Compiled, initial: Map<string, number[]>, initialServing: number[], leaderPick: number[]): { final: Map<string, number[]> } {
  // key: host + install (a server on the old install and the same host on the new one differ)
  const running = new Map(initial);
  const written = new Map<string, number[]>(); // host:config path → server ids it lists
  const key = (n: NodeRef) => `${n.host}|${n.config}`;
  const idOf = new Map<string, number>();
  let serving = [...initialServing]; // config the new ensemble's leader uses
  let pick = 0;
  let roundLeader = 0;
  const liveIn = (cfg: number[], except?: string) => [...running.entries()].filter(([k]) => k !== except && cfg.includes(idOf.get(k) ?? -1)).length;
  for (const [k] of initial) idOf.set(k, Number(k.split('#')[1]));
  const check = (s: Step, cfg: number[], except?: string) => {
    const live = liveIn(cfg, except);
    assert.ok(live >= q(cfg.length), `step ${s.n} "${s.title}": ${live} live voters of [${cfg}] < quorum ${q(cfg.length)}`);
  };
  for (const s of c.steps) {
    for (const f of s.files)
      if (f.kind === 'zoo.cfg')
        written.set(
          `${f.node.host}|${f.path}`,
          f.servers.map((x) => x.myid),
        );
    if (s.target.kind === 'node') {
      const n = s.target.node;
      const k = `${key(n)}#${n.myid}`;
      if (s.action === 'start') {
        const cfg = written.get(key(n));
        assert.ok(cfg, `step ${s.n}: ${n.host} starts without a written config`);
        assert.ok(cfg.includes(n.myid), `step ${s.n}: config of ${n.myid} does not list it`);
        running.set(k, cfg);
        idOf.set(k, n.myid);
      } else if (s.action === 'stop') {
        const found = [...running.keys()].find((x) => x.startsWith(`${key(n)}#`));
        const wasOld = found !== undefined && !written.has(key(n));
        if (found) running.delete(found);
        if (!wasOld && s.membership.new?.state === 'serving' && !s.confirm) check(s, serving);
      }
    } else if (s.target.kind === 'slot') {
      const t = s.target;
      const members = t.members.map((m) => ({ m, k: `${key(m)}#${m.myid}` }));
      // Adversary: any member may be the round's leader; the others restart first in myid order.
      if (t.slot === 1) roundLeader = leaderPick[pick++ % leaderPick.length] ?? 0;
      const leaderIdx = roundLeader % members.length;
      const leader = members[leaderIdx]!;
      const order = [...members.filter((_, i) => i !== leaderIdx).sort((a, b) => a.m.myid - b.m.myid), leader];
      const me = order[t.slot - 1]!;
      assert.ok(running.has(me.k), `step ${s.n}: slot member ${me.m.myid} is not running`);
      const newCfg = written.get(key(me.m))!;
      if (t.slot < t.of) {
        check(s, serving, me.k); // the leader keeps its configuration while a follower is down
      } else {
        // the leader restarts: the others elect among themselves with their (new) configuration
        const others = [...running.keys()].filter((k) => k !== me.k);
        for (const o of others) assert.deepEqual(running.get(o), newCfg, `step ${s.n}: ${o} runs with another config than the leader's next one`);
        check(s, newCfg, me.k);
        const a = new Set(serving);
        const b = new Set(newCfg);
        const changed = [...a].filter((x) => !b.has(x)).length + [...b].filter((x) => !a.has(x)).length;
        assert.ok(changed <= 1, `step ${s.n}: configuration changes ${changed} voters at once`);
        serving = newCfg;
      }
      running.set(me.k, newCfg);
    }
  }
  return { final: running };
}

describe('compile: properties over random plans', () => {
  it('rebuild: compiles exactly when safe, and every step keeps a quorum (independent replay)', () => {
    let compiled = 0;
    let refused = 0;
    fc.assert(
      fc.property(rebuildArb, ({ doc, ids, broken, tempId, renumber, leaderPick }) => {
        const plan = planOf(doc);
        const rest = ids.length - broken.length;
        const expectRefusal = broken.length < 2 || rest < q(ids.length) || rest === 0;
        let c: Compiled;
        try {
          c = compile(plan);
        } catch (e) {
          assert.ok(e instanceof Refusal, `unexpected error ${String(e)}`);
          assert.ok(expectRefusal, `refused a safe plan: ${e.message}`);
          refused++;
          return;
        }
        assert.ok(!expectRefusal, `compiled an unsafe plan (broken ${broken}, servers ${ids})`);
        compiled++;
        // the old ensemble is running on the non-broken servers: track it by host
        const initial = new Map<string, number[]>();
        for (const s of plan.servers) if (!broken.includes(s.myid)) initial.set(`${s.host}|${s.config}#${s.myid}`, ids);
        const { final } = replay(c, initial, [...broken.map((b) => renumber.get(b)!), tempId], leaderPick);
        // end state: exactly the renumbered servers, each on its own host, all on one config
        const endIds = [...final.keys()].map((k) => Number(k.split('#')[1])).sort((a, b) => a - b);
        assert.deepEqual(
          endIds,
          [...renumber.values()].sort((a, b) => a - b),
        );
        const cfgs = new Set([...final.values()].map((v) => v.join(',')));
        assert.equal(cfgs.size, 1);
        for (const s of plan.servers) {
          const k = [...final.keys()].find((x) => x.endsWith(`#${renumber.get(s.myid)}`))!;
          assert.ok(k.startsWith(`${s.host}|`), `server ${s.myid} moved off its host`);
        }
        // restarts: each growth round restarts the current members, the retire round the final ones
        const mini = broken.length + 1;
        let expected = 0;
        for (let k = 0; k < rest; k++) expected += mini + k;
        expected += ids.length;
        assert.equal(c.totals.restarts, expected);
      }),
      { numRuns: 1500 },
    );
    assert.ok(compiled > 300 && refused > 100, `both outcomes exercised (compiled ${compiled}, refused ${refused})`);
  });

  it('rolling: 3–9 servers restart one at a time onto the target, leader last', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 9 }), (ids) => {
        const plan = planOf({ ...baseDoc(ids), strategy: { kind: 'rolling' } });
        if (ids.length < 3) {
          assert.throws(() => compile(plan), Refusal);
          return;
        }
        const c = compile(plan);
        const slots = c.steps.filter((s) => s.target.kind === 'slot');
        assert.equal(slots.length, ids.length);
        assert.equal(c.totals.elections, 1);
        for (const s of slots) {
          const m = s.membership.new!;
          assert.equal(m.minLive, ids.length - 1);
          assert.ok(m.minLive >= m.quorum);
          for (const b of s.byMember!) {
            assert.equal(b.commands.length, 2);
            assert.match(b.commands[0]!.argv[0]!, /^\/opt\/zk-old\//, 'stops the old install');
            assert.match(b.commands[1]!.argv[0]!, /^\/opt\/zk-new\//, 'starts the target install');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
