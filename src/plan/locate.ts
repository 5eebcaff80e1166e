// Maps a plan path (["servers", 2, "myid"]) back to a line:col in the YAML source.
//
// Invariants:
// - Never throws; always returns a 1-based position (1:1 for an empty document).
// - Map keys match a path segment by their string form (YAML `6:` matches "6"); aliases are
//   followed while descending.
// - If the path does not exist in the source (a missing key, a defaulted value), the position
//   is that of the deepest node that does exist: for a missing key, its parent map.
// - An empty value (`myid:` with nothing after it) is reported at its key.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PlanPath } from './rules.js';

export interface Position {
  line: number;
  col: number;
}

interface Step {
  key: Node | null; // the key node that led here (null for list items and the root)
  value: Node | null;
}

function resolve(doc: Document, node: unknown): Node | null {
  if (isAlias(node)) {
    try {
      return node.resolve(doc) ?? null;
    } catch {
      return null;
    }
  }
  return (node as Node | null | undefined) ?? null;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function start(node: Node | null): number | undefined {
  return node?.range?.[0];
}

function isEmptyScalar(node: Node | null): boolean {
  const r = isScalar(node) ? node.range : undefined;
  return isScalar(node) && node.value === null && r != null && r[0] === r[1];
}

/** Walks `path` as far as the document allows; returns the steps taken (first = root). */
function walk(doc: Document, path: PlanPath): { steps: Step[]; complete: boolean } {
  const steps: Step[] = [{ key: null, value: (doc.contents as Node | null) ?? null }];
  for (const seg of path) {
    const here = resolve(doc, steps[steps.length - 1]?.value);
    let next: Step | undefined;
    if (isMap(here)) {
      const pair = here.items.find((p) => keyText(p.key) === String(seg));
      if (pair) next = { key: (pair.key as Node | null) ?? null, value: (pair.value as Node | null) ?? null };
    } else if (isSeq(here) && typeof seg === 'number') {
      const item = here.items[seg];
      if (item !== undefined) next = { key: null, value: (item as Node | null) ?? null };
    }
    if (!next) return { steps, complete: false };
    steps.push(next);
  }
  return { steps, complete: true };
}

/** Source offset of the node at `path` (its key if at = "key"), or of its deepest existing ancestor. */
export function locateOffset(doc: Document, path: PlanPath, at: 'value' | 'key'): number {
  const { steps, complete } = walk(doc, path);
  const last = steps[steps.length - 1];
  if (!last) return 0;
  const keyPos = start(last.key);
  if (complete && at === 'key' && keyPos !== undefined) return keyPos;
  if (isEmptyScalar(last.value) || last.value === null) return keyPos ?? start(last.value) ?? 0;
  return start(last.value) ?? keyPos ?? 0;
}

export function locate(doc: Document, lineCounter: LineCounter, path: PlanPath, at: 'value' | 'key'): Position {
  const { line, col } = lineCounter.linePos(locateOffset(doc, path, at));
  return { line: Math.max(1, line), col: Math.max(1, col) };
}

/** The key node starting at `offset`, e.g. to name a duplicate key yaml reported by position. */
export function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  const visitNode = (node: unknown): void => {
    if (found !== undefined) return;
    if (isMap(node)) {
      for (const p of node.items) {
        if (isScalar(p.key) && p.key.range?.[0] === offset) found = String(p.key.source ?? p.key.value);
        visitNode(p.key);
        visitNode(p.value);
      }
    } else if (isSeq(node)) node.items.forEach(visitNode);
  };
  visitNode(doc.contents);
  return found;
}
