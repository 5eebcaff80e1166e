// The committed schema/plan.schema.json must be what `zkroll schema` generates today, and the
// example plans must be valid against the loader (the same source).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planJsonSchema } from '../../src/plan/jsonschema.js';
import { loadPlanFile } from '../../src/plan/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

it('schema/plan.schema.json is up to date (run `npm run schema`)', () => {
  const committed: unknown = JSON.parse(fs.readFileSync(path.join(root, 'schema', 'plan.schema.json'), 'utf8'));
  assert.deepEqual(committed, planJsonSchema());
});

it('every plan in plans/ is valid', () => {
  const files = fs.readdirSync(path.join(root, 'plans')).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const r = loadPlanFile(path.join(root, 'plans', f));
    assert.ok(r.ok, `${f}: ${r.ok ? '' : JSON.stringify(r.errors)}`);
  }
});
