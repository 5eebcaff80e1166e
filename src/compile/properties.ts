// A .properties file as ZooKeeper reads it (java.util.Properties: `key=value`, `key: value`,
// `key value`, `#` and `!` comments, continuation lines, escapes; CRLF, CR or LF endings), kept
// line by line so that every line zkroll does not change comes back byte for byte. Parsing
// and escaping are the dot-properties library's (parseLines with source ranges, stringify);
// this module only keeps each logical line's raw text beside its parsed key and value. Pure.
// Invariants: render(parse(text)) === text for every input; an edit touches only the lines it
// names; a value zkroll writes is escaped as java.util.Properties reads it back from the UTF-8
// file zkroll writes (only printable ASCII is written raw); new lines use the file's own line
// ending.
import { parseLines, stringify } from 'dot-properties';

/** One logical line (a continued value spans several physical lines) with its raw text. */
export interface PropLine {
  /** The exact text: leading blanks, content, continuation lines and the line ending. */
  raw: string;
  /** Parsed key and value (escapes resolved); null for comments and blank lines. */
  key: string | null;
  value: string | null;
  /** Pairs: the raw text up to where the value starts (blanks, key, separator). */
  prefix: string;
  /** The line ending it ends with ('' on a last line without one). */
  eol: string;
}

export interface PropertiesDoc {
  lines: PropLine[];
  /** The file's line ending: the first one found (CRLF, CR or LF), LF for a file without any. */
  eol: string;
}

const EOL_AT_END = /(\r\n|\r|\n)$/;

/** Parse a .properties text into its lines (never throws: every text is some properties file). */
export function parseProperties(text: string): PropertiesDoc {
  const nodes = parseLines(text, true);
  const lineStart = (at: number) => Math.max(text.lastIndexOf('\n', at - 1), text.lastIndexOf('\r', at - 1)) + 1;
  const starts = nodes.map((n, i) => (i === 0 ? 0 : lineStart(n.range![0]!)));
  const lines = nodes.map((n, i): PropLine => {
    const raw = text.slice(starts[i]!, i + 1 < nodes.length ? starts[i + 1]! : text.length);
    const eol = EOL_AT_END.exec(raw)?.[1] ?? '';
    if (n.type !== 'PAIR') return { raw, key: null, value: null, prefix: '', eol };
    const p = n as unknown as { key: string; value: string; range: number[] };
    const [, sepStart, sepEnd] = p.range;
    const prefix = text.slice(starts[i]!, sepEnd) + (sepStart === sepEnd ? '=' : '');
    return { raw, key: p.key, value: p.value, prefix, eol };
  });
  // a text whose only content is blanks has no node for them: keep them as one line
  if (lines.length === 0 && text.length > 0) lines.push({ raw: text, key: null, value: null, prefix: '', eol: EOL_AT_END.exec(text)?.[1] ?? '' });
  return { lines, eol: /\r\n|\r|\n/.exec(text)?.[0] ?? '\n' };
}

/** The text of a document: its lines' raw text, joined. */
export function renderProperties(doc: PropertiesDoc): string {
  return doc.lines.map((l) => l.raw).join('');
}

/** The value of `key` as java.util.Properties has it: the last line that sets it wins. */
export function propertyValue(doc: PropertiesDoc, key: string): string | undefined {
  for (let i = doc.lines.length - 1; i >= 0; i--) if (doc.lines[i]!.key === key) return doc.lines[i]!.value!;
  return undefined;
}

/**
 * `value` escaped as a properties value (leading blanks, backslashes, line breaks), every
 * character outside printable ASCII as \uXXXX: ZooKeeper reads zoo.cfg with
 * Properties.load(InputStream), i.e. as ISO-8859-1, and zkroll writes UTF-8, so a raw "é" (two
 * bytes) would come back as "Ã©".
 */
export function escapeValue(value: string): string {
  return stringify({ k: value }, { lineWidth: 0, latin1: true })
    .replace(/^k = /, '')
    .replace(/\n$/, '')
    .replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A new line `key=value` ending with `eol`. */
export function newLine(key: string, value: string, eol: string): PropLine {
  const prefix = `${stringify({ [key]: '' }, { lineWidth: 0 }).replace(/ = \n?$/, '')}=`;
  return { raw: `${prefix}${escapeValue(value)}${eol}`, key, value, prefix, eol };
}

/** The line with its value replaced; its key, blanks, separator and line ending stay. */
export function withValue(line: PropLine, value: string): PropLine {
  if (line.key === null) throw new Error('withValue: not a key=value line');
  if (line.value === value) return line;
  return { ...line, raw: `${line.prefix}${escapeValue(value)}${line.eol}`, value };
}

/** `lines` followed by `more`; a last line without a line ending gets the file's first. */
export function appendLines(doc: PropertiesDoc, lines: PropLine[], more: PropLine[]): PropLine[] {
  if (more.length === 0) return lines;
  const last = lines.at(-1);
  const fixed = last && last.eol === '' && last.raw !== '' ? [...lines.slice(0, -1), { ...last, raw: last.raw + doc.eol, eol: doc.eol }] : lines;
  return [...fixed, ...more];
}
