// Loads a plan file: YAML -> PlanSchema -> cross-field rules, with every error located.
//
// Invariants:
// - Never throws for bad input: every problem becomes a PlanError.
// - All errors of a stage are reported together, sorted by line then column. The stages are
//   YAML (syntax errors, duplicate keys, warnings treated as errors) -> schema -> rules; a
//   stage only runs when the previous one found nothing (a broken YAML file or a plan with
//   schema errors would make later findings misleading).
// - Positions are 1-based line:col counted from the text itself (a line ends at "\n"), always
//   inside the file (yaml's own LineCounter misses the line breaks inside some tokens it cannot
//   parse); an unreadable file gives one error without a position.
import { readFileSync } from 'node:fs';
import { isAlias, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { fallbackErrorMap, formatPath, issueMessages, type PathMessage } from './issues.js';
import { keyAt, locate } from './locate.js';
import { checkRules } from './rules.js';
import { PlanSchema, type Plan } from './schema.js';

export { allHosts, effectiveSsh, resolveLocalPath, type EffectiveSsh, type HostEntry } from './helpers.js';

export interface PlanError {
  file: string;
  line?: number;
  col?: number;
  message: string;
}

export type LoadResult = { ok: true; plan: Plan; file: string } | { ok: false; errors: PlanError[] };

/** "plans/x.yaml:12:7: message", or "plans/x.yaml: message" without a position. */
export function formatPlanError(e: PlanError): string {
  return e.line === undefined ? `${e.file}: ${e.message}` : `${e.file}:${e.line}:${e.col ?? 1}: ${e.message}`;
}

function sortErrors(errors: PlanError[]): PlanError[] {
  const seen = new Set<string>();
  return errors
    .filter((e) => {
      const k = formatPlanError(e);
      return seen.has(k) ? false : (seen.add(k), true);
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0) || a.message.localeCompare(b.message));
}

function yamlMessage(err: YAMLError, doc: Document, warning: boolean): string {
  switch (err.code) {
    case 'DUPLICATE_KEY': {
      const key = keyAt(doc, err.pos[0]);
      return `duplicate key${key === undefined ? '' : ` '${key}'`} (a key may appear only once in a mapping)`;
    }
    case 'MULTIPLE_DOCS':
      return "the plan must be a single YAML document (remove the second '---' document)";
    case 'TAB_AS_INDENT':
      return 'YAML syntax error: tabs are not allowed for indentation, use spaces';
    default:
      return `${warning ? 'YAML warning' : 'YAML syntax error'}: ${err.message}`;
  }
}

/** line:col of every offset of `text`, by its "\n" line breaks; an offset past the end is clamped to it. */
function textLineCounter(text: string): LineCounter {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  const linePos = lc.linePos;
  lc.linePos = (offset: number) => linePos(Math.max(0, Math.min(offset, text.length)));
  return lc;
}

function yamlErrors(doc: Document, lc: LineCounter, file: string): PlanError[] {
  const at = (offset: number): { line: number; col: number } => lc.linePos(offset);
  const out: PlanError[] = [
    ...doc.errors.map((e) => ({ file, ...at(e.pos[0]), message: yamlMessage(e, doc, false) })),
    ...doc.warnings.map((e) => ({ file, ...at(e.pos[0]), message: yamlMessage(e, doc, true) })),
  ];
  // one walk, in document order (as Alias.resolve looks for the anchor, but without its walk of
  // the whole document per alias: a file of many aliases would take minutes)
  const anchors = new Set<string>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        if (!anchors.has(node.source))
          out.push({ file, ...at(node.range?.[0] ?? 0), message: `YAML error: alias *${node.source} refers to no anchor defined before it` });
      } else if (node.anchor !== undefined) anchors.add(node.anchor);
    },
  });
  return out;
}

function located(doc: Document, lc: LineCounter, file: string, m: PathMessage): PlanError {
  return { file, ...locate(doc, lc, m.path, m.at), message: `${formatPath(m.path)}: ${m.message}` };
}

/** Parses and validates plan text; `file` is only used to label errors. */
export function loadPlanText(text: string, file: string): LoadResult {
  try {
    const lc = textLineCounter(text);
    // logLevel 'error': yaml's warnings (a mapping used as a key, ...) are plan errors here, not
    // Node process warnings printed beside them
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
    const yamlErrs = yamlErrors(doc, lc, file);
    if (yamlErrs.length > 0) return { ok: false, errors: sortErrors(yamlErrs) };

    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      return { ok: false, errors: [{ file, line: 1, col: 1, message: `cannot read the YAML: ${(e as Error).message}` }] };
    }

    const parsed = PlanSchema.safeParse(data, { error: fallbackErrorMap });
    if (!parsed.success) {
      const msgs = parsed.error.issues.flatMap((i) => issueMessages(i, data, PlanSchema));
      return { ok: false, errors: sortErrors(msgs.map((m) => located(doc, lc, file, m))) };
    }

    const violations = checkRules(parsed.data);
    if (violations.length > 0) return { ok: false, errors: sortErrors(violations.map((m) => located(doc, lc, file, m))) };
    return { ok: true, plan: parsed.data, file };
  } catch (e) {
    return { ok: false, errors: [{ file, message: `internal error while loading the plan: ${(e as Error)?.message ?? String(e)}` }] };
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
};

/** Reads and loads a plan file; an unreadable file gives one error without a position. */
export function loadPlanFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const reason = code === undefined ? String((e as Error)?.message ?? e) : `${code} (${REASONS[code] ?? (e as Error).message})`;
    return { ok: false, errors: [{ file, message: `cannot read plan: ${reason}` }] };
  }
  return loadPlanText(text, file);
}
