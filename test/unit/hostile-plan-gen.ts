// Generators of hostile plan texts for hostile-plans.test.ts: the real plans in plans/*.yaml,
// mutated (structured edits of the parsed plan, then edits of the text), small alias bombs and
// random text. Each generated text comes with how heavily it was mutated (0: an example plan
// as it is; 10+: its text edited; 100: an alias bomb; 1000: random text). Also the fast-check
// settings both hostile-*.test.ts files use.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const planDir = path.join(root, 'plans');
export const BASES = fs
  .readdirSync(planDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => {
    const text = fs.readFileSync(path.join(planDir, f), 'utf8');
    return { name: f, text, doc: parse(text) as unknown };
  });

/** fast-check settings: a fixed number of runs; FC_SEED (and FC_PATH) replay a reported failure. */
export function fcParams(numRuns: number): fc.Parameters<unknown> {
  const p: fc.Parameters<unknown> = { numRuns, includeErrorInReport: true };
  const seed = process.env['FC_SEED'];
  if (seed !== undefined) {
    p.seed = Number(seed);
    const replay = process.env['FC_PATH'];
    if (replay !== undefined) p.path = replay;
  }
  return p;
}

export interface PlanText {
  text: string;
  mutations: number;
}

// ---------- values ----------

const KNOWN_KEYS = [
  'version',
  'cluster',
  'name',
  'ports',
  'client',
  'quorum',
  'election',
  'adminPort',
  'ssh',
  'user',
  'port',
  'identityFile',
  'knownHosts',
  'jumpHost',
  'sudo',
  'connectTimeout',
  'servers',
  'myid',
  'host',
  'home',
  'config',
  'dataDir',
  'dataLogDir',
  'service',
  'kind',
  'unit',
  'role',
  'target',
  'strategy',
  'temporary',
  'broken',
  'renumber',
  'seedFrom',
  'preserveEphemerals',
  'health',
  'pollInterval',
  'startDeadline',
  'gateDeadline',
  'canaryPath',
  'requiredZnodes',
  'path',
  'minChildren',
  'lab',
  'down',
  'znodes',
  'proxies',
  'product',
  'count',
  'releases',
  'installs',
  'deadListeners',
  'loginDelay',
  'configStyle',
];

const SPECIAL_STRINGS = [
  '',
  ' ',
  '~',
  '-',
  '3.4.13',
  '3.5.5',
  '3.9.3',
  '3.4.6-',
  '3.8.x',
  '99999999999999999999.1.1',
  '/',
  '/opt/x',
  '/a/../b',
  'relative/path',
  'leader',
  'rolling',
  'rebuild',
  'systemd',
  'zkServer',
  'observer',
  'participant',
  'port-scan',
  'operator',
  '200ms',
  '0s',
  '25h',
  '1.5s',
  '1m30s',
  '99999999999999999999h',
  '99999999999999999999',
  '-1',
  '1e400',
  '0x10',
  '0o17',
  '.inf',
  '-.inf',
  '.nan',
  'yes',
  'no',
  'on',
  'off',
  'null',
  'true',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '[::1]',
  '[',
  'a@b',
  'user@host:99999',
  'a;b',
  'a|b',
  'a b',
  'h:1',
  '-H',
  '-x.service',
  '$(touch PWNED)',
  '`touch PWNED`',
  '/data/zk\n',
  '/data/zk ',
  '/data/\\x',
  '/data/é',
  '/a/b; rm -rf /',
  'zk\u0001',
  '\u0000',
  '\u202e',
  'é',
  '日本語',
  '🦓',
];

const smallScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 300 }),
  fc.integer(),
  fc.constantFrom(0, -0, -1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e21, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, 0.5, 1.5, -2.5),
  fc.constantFrom(NaN, Infinity, -Infinity),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(...SPECIAL_STRINGS),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

const longString = fc.oneof(
  fc.integer({ min: 1000, max: 20000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 100, max: 4000 }).map((n) => `/${'d/'.repeat(n)}x`),
  fc.string({ unit: 'grapheme', minLength: 100, maxLength: 500 }),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: smallScalar },
  { weight: 1, arbitrary: longString },
  { weight: 2, arbitrary: fc.array(smallScalar, { maxLength: 5 }) },
  { weight: 2, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 8 })), smallScalar, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom([], {}, [[]], [{}], { a: { b: { c: [1] } } }) },
);

const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...KNOWN_KEYS),
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', ' ', '<<', '?', '-', '~', 'myId', 'data_dir', 'Servers', 'hots'),
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

// ---------- structured mutations (on the parsed plan) ----------

type Path = (string | number)[];

interface Op {
  kind: 'delete' | 'set' | 'rename' | 'add' | 'dupItem' | 'swap' | 'smallInt';
  a: number;
  b: number;
  value: unknown;
  key: string;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('delete', 'set', 'rename', 'add', 'dupItem', 'swap', 'smallInt'),
  a: fc.nat(),
  b: fc.nat(),
  value: hostileValue,
  key: hostileKey,
});

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every path in `v` (the root excluded), containers before their children. */
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([...at, i]), paths(x, [...at, i], out)));
  else if (isObj(v)) for (const k of Object.keys(v)) (out.push([...at, k]), paths(v[k], [...at, k], out));
  return out;
}

function get(root: unknown, p: Path): unknown {
  let v = root;
  for (const s of p) v = (v as Record<string | number, unknown>)?.[s];
  return v;
}

function setAt(root: unknown, p: Path, value: unknown): void {
  const parent = get(root, p.slice(0, -1));
  const last = p[p.length - 1]!;
  if (Array.isArray(parent) && typeof last === 'number') parent[last] = value;
  else if (isObj(parent)) Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
}

function applyOp(doc: unknown, op: Op): void {
  const all = paths(doc);
  if (all.length === 0) return;
  const p = all[op.a % all.length]!;
  const q = all[op.b % all.length]!;
  const parent = get(doc, p.slice(0, -1));
  const last = p[p.length - 1]!;
  const here = get(doc, p);
  switch (op.kind) {
    case 'delete':
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else if (isObj(parent)) delete parent[last];
      break;
    case 'set':
      setAt(doc, p, structuredClone(op.value));
      break;
    case 'smallInt':
      setAt(doc, p, op.b % 12);
      break;
    case 'rename':
      if (isObj(parent) && typeof last === 'string' && op.key !== last) {
        setAt(doc, [...p.slice(0, -1), op.key], here);
        delete parent[last];
      }
      break;
    case 'add':
      if (isObj(here)) setAt(doc, [...p, op.key], structuredClone(op.value));
      else if (Array.isArray(here)) here.push(structuredClone(op.value));
      break;
    case 'dupItem':
      if (Array.isArray(parent) && typeof last === 'number') parent.push(structuredClone(here));
      else if (Array.isArray(here) && here.length > 0) here.push(structuredClone(here[op.b % here.length]));
      break;
    case 'swap': {
      const there = get(doc, q);
      setAt(doc, p, structuredClone(there));
      setAt(doc, q, structuredClone(here));
      break;
    }
  }
}

const styleArb = fc.record({
  indent: fc.constantFrom(2, 3, 4),
  flowLevel: fc.constantFrom(undefined, 0, 1, 2),
  defaultStringType: fc.constantFrom('PLAIN' as const, 'QUOTE_DOUBLE' as const, 'QUOTE_SINGLE' as const, 'BLOCK_LITERAL' as const),
  defaultKeyType: fc.constantFrom(null, 'PLAIN' as const, 'QUOTE_DOUBLE' as const),
});

const structured: fc.Arbitrary<PlanText> = fc
  .record({ base: fc.nat(), ops: fc.array(opArb, { maxLength: 4 }), style: styleArb })
  .map(({ base, ops, style }) => {
    const doc = structuredClone(BASES[base % BASES.length]!.doc);
    for (const op of ops) applyOp(doc, op);
    const { flowLevel, ...rest } = style;
    return { text: stringify(doc, { ...rest, ...(flowLevel === undefined ? {} : { flowLevel }), lineWidth: 0 }), mutations: ops.length };
  });

// ---------- text mutations ----------

const SNIPPETS = [
  '"',
  "'",
  '\t',
  '  ',
  '    ',
  '\n',
  ': ',
  ':',
  '- ',
  '-',
  '[',
  ']',
  '{',
  '}',
  ',',
  '&a ',
  '*a',
  '*nope',
  '<<: *a\n',
  '---\n',
  '...\n',
  '? ',
  '!!str ',
  '!!binary ',
  '!!set ',
  '!!omap ',
  '!!timestamp ',
  '!!int ',
  '!local ',
  '!<tag:x> ',
  '%YAML 1.1\n',
  '%TAG ! tag:x:\n',
  '#',
  ' #',
  '|',
  '>-',
  '|+\n',
  '\r\n',
  '\r',
  '\uFEFF',
  '\u0000',
  '\u0085',
  '\u2028',
  '\u001b[31m',
  '\\',
  '"\\x',
  '"\\u12',
  'myid: 1\n',
  'servers:\n',
  '  - ',
  '99999999999999999999999',
  '1e99999',
  '0x',
  '.inf',
  '~',
  '@',
  '`',
  '%',
  '&',
  '*',
  '!',
];

type TextOp =
  | { kind: 'insert'; at: number; s: string }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'dupLine'; line: number }
  | { kind: 'indent'; line: number; by: string }
  | { kind: 'dedent'; line: number; n: number }
  | { kind: 'swapLines'; line: number; other: number }
  | { kind: 'truncate'; at: number };

const textOpArb: fc.Arbitrary<TextOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), s: fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 6 })) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dupLine' as const), line: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.constantFrom(' ', '  ', '\t', ' \t', '   ') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dedent' as const), line: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swapLines' as const), line: fc.nat(), other: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
);

function applyTextOp(text: string, op: TextOp): string {
  const len = text.length + 1;
  const lines = text.split('\n');
  const li = (n: number) => n % lines.length;
  switch (op.kind) {
    case 'insert': {
      const at = op.at % len;
      return text.slice(0, at) + op.s + text.slice(at);
    }
    case 'delete': {
      const at = op.at % len;
      return text.slice(0, at) + text.slice(at + op.n);
    }
    case 'truncate':
      return text.slice(0, op.at % len);
    case 'dupLine': {
      const i = li(op.line);
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
    case 'indent': {
      const i = li(op.line);
      lines[i] = op.by + lines[i];
      return lines.join('\n');
    }
    case 'dedent': {
      const i = li(op.line);
      lines[i] = lines[i]!.replace(new RegExp(`^ {1,${op.n}}`), '');
      return lines.join('\n');
    }
    case 'swapLines': {
      const i = li(op.line);
      const j = li(op.other);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
  }
}

const textMutated = fc
  .record({
    // the files as written (comments, flow maps) or a mutated plan as yaml writes it
    source: fc.oneof({ weight: 1, arbitrary: fc.nat().map((i) => BASES[i % BASES.length]!.text) }, { weight: 2, arbitrary: structured.map((s) => s.text) }),
    ops: fc.array(textOpArb, { minLength: 1, maxLength: 6 }),
  })
  .map(({ source, ops }) => ({ text: ops.reduce(applyTextOp, source), mutations: 10 + ops.length }));

// ---------- alias bombs (kept small: the loader must refuse them, not expand them) ----------

function bomb(depth: number, width: number): string {
  const out = [`l0: &l0 [${Array.from({ length: width }, () => '"lol"').join(', ')}]`];
  for (let d = 1; d < depth; d++) out.push(`l${d}: &l${d} [${Array.from({ length: width }, () => `*l${d - 1}`).join(', ')}]`);
  return out.join('\n');
}

const bombs = fc
  .record({
    depth: fc.integer({ min: 2, max: 9 }),
    width: fc.integer({ min: 2, max: 10 }),
    where: fc.constantFrom('alone', 'top', 'lab', 'servers'),
    base: fc.nat(),
  })
  .map(({ depth, width, where, base }) => {
    const b = bomb(depth, width);
    const plan = BASES[base % BASES.length]!.text;
    const last = `l${depth - 1}`;
    const text =
      where === 'alone'
        ? b
        : where === 'top'
          ? `${b}\n${plan}`
          : where === 'lab'
            ? `${plan.replace(/\n+$/, '')}\nlab2:\n${b.replace(/^/gm, '  ')}\n  all: *${last}\n`
            : plan.replace(/^servers:/m, `servers: *${last}\nbomb:\n${b.replace(/^/gm, '  ')}\nservers_:`);
    return { text, mutations: 100 };
  });

// ---------- random text ----------

const YAMLISH = [...'abcmyidhost:- \n\t"\'[]{}&*!|>#%@`,?0123456789.\r/\\~=<', 'myid', 'servers', 'version: 1', '\u00e9', '\u{1F993}'];
const randomText = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...YAMLISH), maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  )
  .map((text) => ({ text, mutations: 1000 }));

/** One generated plan text of any kind. */
export const planTexts: fc.Arbitrary<PlanText> = fc.oneof(
  { weight: 5, arbitrary: structured },
  { weight: 4, arbitrary: textMutated },
  { weight: 1, arbitrary: bombs },
  { weight: 1, arbitrary: randomText },
);

/** Plans mutated at most twice, with numbers kept small: many stay valid and reach the compiler. */
export const lightPlanTexts: fc.Arbitrary<PlanText> = fc.oneof(
  { weight: 3, arbitrary: structured.filter((s) => s.mutations <= 2) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        base: fc.nat(),
        ops: fc.array(
          opArb.map((o): Op => ({ ...o, kind: o.kind === 'set' ? 'smallInt' : o.kind })),
          { maxLength: 2 },
        ),
      })
      .map(({ base, ops }) => {
        const doc = structuredClone(BASES[base % BASES.length]!.doc);
        for (const op of ops) applyOp(doc, op);
        return { text: stringify(doc), mutations: ops.length };
      }),
  },
);
