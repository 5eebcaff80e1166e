// report.html on disk (src/report/write.ts): drawn from a state directory's report.json and
// states.jsonl (a torn last line is skipped) with the lab clients' logs (a lane each; a missing
// log, no lane); the driver's writer warns once and never throws; a finished run's states.jsonl
// and report.html go to its archive.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { archiveReportFiles, readClientEvents, reportHtmlFile, reportHtmlWriter, writeReportHtml } from '../../src/report/write.js';
import { statesFile } from '../../src/run/sampler.js';
import { clientEvents, incidentInput, javaClientEvents } from './report-fixture.js';

describe('report.html in a state directory', () => {
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-report-write-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is drawn from report.json, states.jsonl (torn last line skipped) and the clients' logs", () => {
    const input = incidentInput();
    fs.writeFileSync(path.join(dir, 'report.json'), JSON.stringify(input.report));
    fs.writeFileSync(statesFile(dir), input.states.map((s) => JSON.stringify(s)).join('\n') + '\n{"t":17,"ser');
    const log = path.join(dir, 'writer.jsonl');
    fs.writeFileSync(
      log,
      clientEvents()
        .map((e) => JSON.stringify(e) + '\n')
        .join('') + 'garbage\n',
    );
    const java = path.join(dir, 'client-java-3.4.6.jsonl');
    fs.writeFileSync(
      java,
      javaClientEvents('3.4.6')
        .map((e) => JSON.stringify(e) + '\n')
        .join(''),
    );
    assert.equal(readClientEvents(log)?.length, clientEvents().length);
    assert.equal(readClientEvents(path.join(dir, 'none.jsonl')), null);
    const clients = [
      { name: 'lab writer (node)', file: log },
      { name: 'Java client 3.4.6', file: java },
      { name: 'Java client 3.8.0', file: path.join(dir, 'client-java-3.8.0.jsonl') },
    ];
    assert.equal(writeReportHtml(dir, { cluster: 'codis-incident', clients }), null);
    const html = fs.readFileSync(reportHtmlFile(dir), 'utf8');
    assert.match(html, /lab writer \(node\): <b>7<\/b> outages/);
    assert.match(html, /Java client 3\.4\.6: <b>5<\/b> outages/);
    assert.doesNotMatch(html, /Java client 3\.8\.0/, 'no log, no lane');
    assert.match(html, /127\.0\.10\.6 · myid 6→2: following/);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
      'written atomically, no temp file left',
    );
  });

  it('without states or a client log: the steps alone', () => {
    const input = incidentInput();
    assert.equal(writeReportHtml(dir, { cluster: 'c', report: input.report, clients: [{ name: 'w', file: path.join(dir, 'none.jsonl') }] }), null);
    const html = fs.readFileSync(reportHtmlFile(dir), 'utf8');
    assert.match(html, /<title>step 68: /);
    assert.doesNotMatch(html, /Servers<\/text>|Clients<\/text>/);
  });

  it("the driver's writer warns once when it cannot write, and never throws", () => {
    const warnings: string[] = [];
    const write = reportHtmlWriter(path.join(dir, 'missing'), 'c', (l) => warnings.push(l));
    write();
    write();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /could not write .*report\.html \(the run goes on\)/);
  });

  it("a finished run's states and picture move to its archive", () => {
    fs.writeFileSync(statesFile(dir), '');
    fs.writeFileSync(reportHtmlFile(dir), '');
    const to = path.join(dir, 'run-1');
    fs.mkdirSync(to);
    archiveReportFiles(dir, to);
    assert.deepEqual(fs.readdirSync(to).sort(), ['report.html', 'states.jsonl']);
    assert.equal(fs.existsSync(statesFile(dir)), false);
  });
});
