// Writes report.html beside report.json in a run's state directory: reads the run's states.jsonl
// (src/run/sampler.ts) and, when given, clients' outcome logs (the lab's writer.jsonl and its
// Java clients' logs), renders (src/report/html.ts) and replaces the file atomically.
// Invariants: never throws (a report that cannot be drawn is the caller's warning, not the
// run's failure): it returns the error instead; a missing states or client file draws without
// those lanes.
import fs from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../machine/store.js';
import { readStates, statesFile } from '../run/sampler.js';
import { renderReportHtml } from './html.js';
import { parseClientLog, type ClientEvent, type ReportJson } from './model.js';

/** Where report.html lives in a run's state directory. */
export function reportHtmlFile(dir: string): string {
  return path.join(dir, 'report.html');
}

/** The events of a JSON-lines client log (missing file: null; bad lines skipped). */
export function readClientEvents(file: string): ClientEvent[] | null {
  try {
    return parseClientLog(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

export interface HtmlOptions {
  cluster: string;
  /** The report (default: the directory's report.json). */
  report?: ReportJson;
  /** Clients' outcome logs, a lane each (a missing file: no lane). */
  clients?: { name: string; file: string }[];
}

/** Render <dir>/report.html; null when written, else the error. */
export function writeReportHtml(dir: string, o: HtmlOptions): Error | null {
  try {
    const report = o.report ?? (JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as ReportJson);
    const clients = (o.clients ?? []).flatMap((c) => {
      const events = readClientEvents(c.file);
      return events ? [{ name: c.name, events }] : [];
    });
    const html = renderReportHtml({ report, cluster: o.cluster, states: readStates(statesFile(dir)), clients, now: Date.now() });
    writeAtomic(reportHtmlFile(dir), html);
    return null;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * The driver's report.html writer: renders after every report.json (pass the report just
 * written, or nothing to read report.json) and warns once if it cannot, never failing the run.
 */
export function reportHtmlWriter(dir: string, cluster: string, warn: (line: string) => void): (report?: ReportJson) => void {
  let warned = false;
  return (report) => {
    const e = writeReportHtml(dir, { cluster, ...(report ? { report } : {}) });
    if (e !== null && !warned) warn(`zkroll: could not write ${reportHtmlFile(dir)} (the run goes on): ${e.message}`);
    warned ||= e !== null;
  };
}

/** Move a finished run's states.jsonl and report.html into its archive directory `to` (beside its run.json). */
export function archiveReportFiles(dir: string, to: string): void {
  for (const f of [statesFile(dir), reportHtmlFile(dir)]) if (fs.existsSync(f)) fs.renameSync(f, path.join(to, path.basename(f)));
}
