// PlanSchema building blocks: durations, paths, and the generated JSON schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planJsonSchema } from '../../src/plan/jsonschema.js';
import { isAbsolutePath, isZnodePath, parseDuration } from '../../src/plan/schema.js';
import { REBUILD, loadErrors, loadOk, withLine } from './plan-fixtures.js';

describe('durations', () => {
  it('parses units and plain milliseconds', () => {
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration(1500), 1500);
    for (const bad of ['1.5s', '10 s', '5d', 's', '', '-1s', -1, 1.5]) assert.equal(parseDuration(bad), undefined, String(bad));
  });

  it('applies them in the plan and checks their bounds', () => {
    // "  requiredZnodes:" is replaced; "  pollInterval: " is 16 characters.
    const at = (line: string): string[] | number => {
      const text = withLine(REBUILD, 25, line).replace('    - { path: /jodis/codis-demo, minChildren: 1 }\n', '');
      return line.includes('bad') ? loadErrors(text) : loadOk(text).health.pollInterval;
    };
    assert.equal(at('  pollInterval: 1s'), 1000);
    assert.equal(at('  pollInterval: 750'), 750);
    assert.deepEqual(at('  pollInterval: 1500ms # bad'), ['plans/test.yaml:25:17: health.pollInterval: expected a duration of at most 1s, got "1500ms"']);
    assert.deepEqual(at('  pollInterval: 0s # bad'), ['plans/test.yaml:25:17: health.pollInterval: expected a duration greater than zero, got "0s"']);
    assert.deepEqual(at('  pollInterval: soon # bad'), [
      'plans/test.yaml:25:17: health.pollInterval: expected a duration like "200ms", "60s", "2m", "1h" or a number of milliseconds, got "soon"',
    ]);
    assert.deepEqual(at('  gateDeadline: 25h # bad'), ['plans/test.yaml:25:17: health.gateDeadline: expected a duration of at most 24h, got "25h"']);
  });
});

describe('paths', () => {
  it('absolute filesystem paths', () => {
    for (const ok of ['/', '/opt/zk', '/a/..b', '/a/b/']) assert.ok(isAbsolutePath(ok), ok);
    for (const bad of ['', 'opt/zk', './zk', '/opt/../etc', '/..', '/a/\0b', '~/zk']) assert.ok(!isAbsolutePath(bad), JSON.stringify(bad));
  });

  it('znode paths', () => {
    for (const ok of ['/', '/jodis', '/jodis/codis-demo']) assert.ok(isZnodePath(ok), ok);
    for (const bad of ['', 'jodis', '/jodis/', '//jodis', '/a//b']) assert.ok(!isZnodePath(bad), JSON.stringify(bad));
  });
});

describe('JSON schema', () => {
  const schema = planJsonSchema() as {
    $id?: string;
    title?: string;
    type?: string;
    required?: string[];
    additionalProperties?: boolean;
    properties?: Record<string, { properties?: Record<string, unknown>; default?: unknown }>;
  };

  it("describes the plan's top level with an id and a title", () => {
    assert.equal(typeof schema.$id, 'string');
    assert.equal(schema.title, 'zkroll plan');
    assert.equal(schema.type, 'object');
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties?.servers && schema.properties.strategy);
    assert.deepEqual([...(schema.required ?? [])].sort(), ['cluster', 'servers', 'ssh', 'strategy', 'target', 'version']);
    assert.deepEqual(Object.keys(schema.properties?.health?.properties ?? {}).sort(), [
      'canaryPath',
      'gateDeadline',
      'pollInterval',
      'requiredZnodes',
      'startDeadline',
    ]);
  });

  it('is plain JSON whose patterns compile as unicode regular expressions', () => {
    const json = JSON.stringify(schema);
    assert.deepEqual(JSON.parse(json), schema);
    const patterns = [...json.matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1] ?? '""') as string);
    assert.ok(patterns.length >= 5);
    for (const p of patterns) assert.doesNotThrow(() => new RegExp(p, 'u'), p);
    const name = patterns.find((p) => p.startsWith('^[A-Za-z0-9][A-Za-z0-9._-]*$'));
    assert.ok(name && new RegExp(name, 'u').test('codis-incident') && !new RegExp(name, 'u').test('bad name'));
  });
});
