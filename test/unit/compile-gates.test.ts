// The `running` gate of every start and restart: the JVM must have the planned config, and when
// the old and the target install share one config path, the target install on its classpath.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../src/compile/index.js';
import type { Gate } from '../../src/compile/types.js';
import { loadOk, REBUILD, ROLLING } from './plan-fixtures.js';

const runningGates = (gates: Gate[]) => gates.filter((g): g is Extract<Gate, { kind: 'running' }> => g.kind === 'running');

describe('running gates', () => {
  it('rolling: each restart waits for a JVM with the target config before serving counts', () => {
    const steps = compile(loadOk(ROLLING)).steps.filter((s) => s.byMember);
    assert.equal(steps.length, 3);
    for (const s of steps) {
      for (const m of s.byMember!) {
        assert.deepEqual(
          m.gates.map((g) => g.kind),
          ['running', 'serving', 'ensemble'],
        );
        const [r] = runningGates(m.gates);
        assert.equal(r!.node.config, '/opt/zookeeper-3.4.13/conf/zoo.cfg');
        assert.equal(r!.home, undefined, 'configs differ: the config alone tells the installs apart');
      }
    }
  });
  it('rolling with one config path for both installs: the gate also asks for the target home', () => {
    const plan = loadOk(ROLLING.replace('  home: /opt/zookeeper-3.4.13\n', '  home: /opt/zookeeper-3.4.13\n  config: /etc/zookeeper/zoo.cfg\n'));
    const m = compile(plan).steps.find((s) => s.byMember)!.byMember!;
    const home = (id: number) => runningGates(m.find((x) => x.myid === id)!.gates)[0]!.home;
    assert.equal(home(1), '/opt/zookeeper-3.4.13', 'server 1 already used /etc/zookeeper/zoo.cfg');
    assert.equal(home(2), undefined);
    assert.equal(home(3), undefined);
  });
  it('rebuild: every start and restart of a new-ensemble server has one', () => {
    const steps = compile(loadOk(REBUILD)).steps;
    const starts = steps.filter((s) => s.action === 'start' && s.target.kind === 'node' && !s.title.startsWith('Start old'));
    assert.ok(starts.length >= 6);
    for (const s of starts) assert.equal(s.gates[0]?.kind, 'running', s.title);
    for (const s of steps.filter((x) => x.byMember && x.action === 'restart')) for (const m of s.byMember!) assert.equal(m.gates[0]?.kind, 'running', s.title);
  });
});

describe('the seed copy step', () => {
  it('lists, for every seed candidate, each sender streamed into its receiver on the temporary server: the commands apply runs', () => {
    const plan = loadOk(REBUILD);
    const step = compile(plan).steps.find((s) => s.action === 'copy-seed-data')!;
    assert.ok(step.target.kind === 'seed');
    assert.deepEqual(step.commands, [], 'the seed is resolved at run time: its commands are per candidate');
    assert.deepEqual(
      step.byMember!.map((m) => m.myid),
      step.target.candidates.map((c) => c.myid),
    );
    for (const m of step.byMember!) {
      const senders = m.commands.filter((c) => c.streamTo !== undefined);
      assert.ok(senders.length >= 1);
      for (const c of senders) {
        assert.equal(c.host, m.host);
        assert.deepEqual(c.okCodes, [0, 1], 'tar of a live log may exit 1 (file changed as we read it)');
        const into = m.commands[c.streamTo!]!;
        assert.equal(into.host, step.target.to.host);
        assert.equal(into.argv[0], 'sh');
        assert.match(into.argv[2]!, /tar -C "\$1\/version-2\.zkroll-incoming" -xf -/);
        assert.equal(into.argv.at(-1), '@RUN@');
      }
    }
  });
});
