// Turns zod issues from PlanSchema into plain-English, path-addressed plan errors.
//
// Invariants:
// - Every zod issue yields at least one PathMessage (unknown keys: one per key); nothing is dropped.
// - A missing required field is addressed by its own path (the locator then falls back to the
//   parent map); an unknown key is addressed at the key itself, with the closest known key
//   suggested; any other problem is addressed at the offending value.
// - Messages starting "expected ..." get ", got <value>" appended, <value> taken from the input.
import { z } from 'zod';
import type { PlanPath, RuleViolation } from './rules.js';

export type PathMessage = RuleViolation;

type Issue = z.core.$ZodIssue;

/** servers[2].myid ; the root is "plan". */
export function formatPath(path: PlanPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out === '' ? 'plan' : out;
}

/** A short description of an input value for "got ..." */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  return typeof v === 'object' && Object.keys(v).length === 0 ? 'an empty mapping' : 'a mapping';
}

/** Optimal-string-alignment edit distance (a swap of two adjacent letters costs 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known key closest to `key` (case-insensitive), if it is close enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(key.toLowerCase(), k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  const limit = Math.max(1, Math.min(3, Math.floor((best?.length ?? 0) / 3)));
  return bestD <= limit ? best : undefined;
}

// ---------- finding the object schema at a path, to list its known keys ----------

function unwrap(s: z.core.$ZodType): z.core.$ZodType {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodPipe) s = s.in;
    else return s;
  }
}

/** For a union, the option that fits `data` (by discriminator when there is one). */
function pickOption(s: z.core.$ZodType, data: unknown): z.core.$ZodType {
  if (!(s instanceof z.ZodUnion)) return s;
  const options = (s.options as readonly z.core.$ZodType[]).map(unwrap);
  const disc = s instanceof z.ZodDiscriminatedUnion ? (s._zod.def.discriminator as string) : undefined;
  const value = typeof data === 'object' && data !== null && disc !== undefined ? (data as Record<string, unknown>)[disc] : undefined;
  const match = options.find((o) => o instanceof z.ZodObject && disc !== undefined && o.shape[disc]?.safeParse(value).success);
  return match ?? options.find((o) => o instanceof z.ZodObject) ?? s;
}

/** The keys the schema accepts for the object at `path` of `data` (empty if not an object). */
export function knownKeysAt(root: z.core.$ZodType, path: PlanPath, data: unknown): string[] {
  let s: z.core.$ZodType | undefined = root;
  let d: unknown = data;
  for (const seg of path) {
    const here: z.core.$ZodType = pickOption(unwrap(s), d);
    if (here instanceof z.ZodObject) s = here.shape[String(seg)] as z.core.$ZodType | undefined;
    else if (here instanceof z.ZodArray) s = here.element as z.core.$ZodType;
    else if (here instanceof z.ZodRecord) s = here.valueType as z.core.$ZodType;
    else s = undefined;
    if (s === undefined) return [];
    d = typeof d === 'object' && d !== null ? (d as Record<string | number, unknown>)[seg] : undefined;
  }
  const obj = pickOption(unwrap(s), d);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}

// ---------- issues -> messages ----------

function valueAt(data: unknown, path: PlanPath): { present: boolean; value: unknown } {
  let d: unknown = data;
  for (const seg of path) {
    if (typeof d !== 'object' || d === null || !Object.prototype.hasOwnProperty.call(d, seg)) return { present: false, value: undefined };
    d = (d as Record<string | number, unknown>)[seg];
  }
  return { present: true, value: d };
}

function withGot(message: string, value: unknown): string {
  return message.startsWith('expected') && !message.includes(', got ') ? `${message}, got ${describeValue(value)}` : message;
}

const NOUNS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

/** Per-parse fallback for schema nodes without their own message (objects, lists). */
export const fallbackErrorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_type') return `expected ${NOUNS[iss.expected] ?? iss.expected}`;
  return undefined;
};

function unknownKey(key: string, known: readonly string[]): string {
  const hint = closestKey(key, known);
  if (hint !== undefined) return `unknown key '${key}' (did you mean '${hint}'?)`;
  return known.length > 0 ? `unknown key '${key}' (allowed here: ${known.join(', ')})` : `unknown key '${key}'`;
}

export function issueMessages(issue: Issue, data: unknown, root: z.core.$ZodType): PathMessage[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(root, path, data);
    return issue.keys.map((key) => ({ path: [...path, key], at: 'key', message: unknownKey(key, known) }));
  }
  if (issue.code === 'invalid_key') {
    const key = path[path.length - 1];
    const inner = issue.issues[0]?.message ?? 'invalid key';
    return [{ path, at: 'key', message: withGot(inner, String(key)) }];
  }
  const { present, value } = valueAt(data, path);
  const options = issue.code === 'invalid_union' && 'options' in issue && issue.options ? issue.options.map(String) : undefined;
  // A refinement may address a defaulted field that is absent from the input: not "missing".
  if (!present && path.length > 0 && issue.code !== 'custom') {
    const one = options ? ` (one of: ${options.join(', ')})` : '';
    return [{ path, at: 'value', message: `required field is missing${one}` }];
  }
  if (options) return [{ path, at: 'value', message: `expected one of ${options.join(', ')}, got ${describeValue(value)}` }];
  if (issue.code === 'invalid_union' && issue.message === 'Invalid input') {
    return [{ path, at: 'value', message: `has an invalid value ${describeValue(value)}` }];
  }
  return [{ path, at: 'value', message: withGot(issue.message, value) }];
}
