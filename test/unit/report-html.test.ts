// report.html (src/report/html.ts, model.ts): the lanes it draws for a real run's steps (the
// incident plan's 68) with its servers' states and the outages and errors of the lab's clients
// (the writer and the Java clients of two releases, a lane each), text escaped wherever a plan,
// step or client puts it, no reference to anything outside the page, a failed run, a plan of 70
// steps on 8 servers still fitting a 1400×900 window, and the client logs' lines parsed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duration, esc, offset, renderReportHtml, STATE_COLORS, STEP_COLORS } from '../../src/report/html.js';
import { clientLane, parseClientLog, timeline, type ReportInput, type ReportStep } from '../../src/report/model.js';
import type { StateChange } from '../../src/run/sampler.js';
import { incidentInput, T0 } from './report-fixture.js';

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, 'g')) ?? []).length;
const svgOf = (html: string) => /<svg[\s\S]*<\/svg>/.exec(html)![0];

function step(n: number, id: string, at: number, ms: number, extra: Partial<ReportStep> = {}): ReportStep {
  return {
    n,
    id,
    title: `step ${id}`,
    status: 'done',
    attempts: 1,
    election: null,
    startedAt: new Date(T0 + at).toISOString(),
    endedAt: new Date(T0 + at + ms).toISOString(),
    durationMs: ms,
    resolved: null,
    notes: [],
    ...extra,
  };
}

describe('report.html of a real run of the incident plan', () => {
  const input = incidentInput();
  const html = renderReportHtml(input);
  const svg = svgOf(html);

  it('has a lane per step group, a bar with its details per step', () => {
    for (const g of ['prepare', 'broken', 'seed', 'mini', 'old', 'grow-4', 'grow-5', 'grow-6', 'retire', 'final'])
      assert.match(svg, new RegExp(`class="lane" text-anchor="end">${g}</text>`), g);
    assert.equal(count(svg, /<title>step \d+: /), 68);
    assert.match(svg, /<title>step 32: Restart the leader \(last of 3\)\ndone, 3.28 s, at \+1:00\nresolved to server 1\nelection 1 → 4 in 1258 ms<\/title>/);
    assert.match(svg, /class="in" text-anchor="start">split-window<\/text>/, 'a long bar carries its name');
  });

  it('has a lane per server with its states over time, in host order', () => {
    const hosts = [...svg.matchAll(/class="lane" text-anchor="end">(127\.0\.10\.\d+)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(hosts, ['127.0.10.1', '127.0.10.6', '127.0.10.7', '127.0.10.8', '127.0.10.9', '127.0.10.10']);
    assert.match(svg, /myid 6→2/);
    for (const state of ['leading', 'following', 'looking', 'down'] as const) assert.match(svg, new RegExp(`fill="${STATE_COLORS[state]}"`), state);
    assert.match(svg, /<title>127\.0\.10\.10 · myid 10→6: leading from \+0:00 for /);
  });

  it('marks the four elections and the client outages', () => {
    assert.equal(count(svg, /<title>election at step \d+/), 4);
    assert.match(svg, /leader 1 → 4 in 1258 ms \(measured\)/);
    assert.equal(count(svg, /<title>lab writer \(node\): outage from/), 7);
    assert.match(svg, /lab writer \(node\): outage from \+0:15 for 410 ms: 1 failed operation; first error: set \/lab-writer\/w: -4 connection loss<\/title>/);
    assert.match(html, /lab writer \(node\): <b>7<\/b> outages, longest 2\.45 s/);
    assert.match(html, /<h2>Elections<\/h2>/);
  });

  it('draws a lane per client, in the order given, each with its outages and errors', () => {
    const lanes = [...svg.matchAll(/class="lane" text-anchor="end">([^<]+)<\/text><text [^>]*class="sub" text-anchor="end">([^<]+)</g)].slice(-3);
    assert.deepEqual(
      lanes.map((m) => [m[1], m[2]]),
      [
        ['lab writer (node)', '7 outages, 7 errors'],
        ['Java client 3.4.6', '5 outages, 28 errors'],
        ['Java client 3.8.0', '6 outages, 24 errors'],
      ],
    );
    assert.equal(count(svg, /<title>Java client 3\.4\.6: outage from/), 5);
    assert.equal(count(svg, /<title>Java client 3\.8\.0: outage from/), 6);
    // an outage's tooltip: how many operations failed, its first and its last error
    assert.match(
      svg,
      /<title>Java client 3\.4\.6: outage from \+1:00 for 2\.71 s: 9 failed operations; first error: getData \/lab-clients\/java-3\.4\.6: KeeperErrorCode = ConnectionLoss for \/lab-clients\/java-3\.4\.6; last: setData \/lab-clients\/java-3\.4\.6: KeeperErrorCode = ConnectionLoss for \/lab-clients\/java-3\.4\.6<\/title>/,
    );
    assert.match(svg, /<title>Java client 3\.4\.6 \(3\.4\.6-1569965, built on 02\/20\/2014 09:09 GMT\): running, answered<\/title>/);
    assert.match(html, /Java client 3\.8\.0: <b>6<\/b> outages, longest 2\.47 s/);
  });

  it('tables each client (library, outages, errors, first and last error, writes and reads) and every outage in time order', () => {
    const clients = /<h2>Clients<\/h2><table>([\s\S]*?)<\/table>/.exec(html)![1]!;
    const rows = [
      ...clients.matchAll(
        /<tr><td class="id">([^<]+)<\/td><td>([^<]*)<\/td><td class="num">(\d+)<\/td>.*?<td class="num">(\d+)<\/td><td>(.*?)<\/td><td>(.*?)<\/td><td class="num">(\d*)<\/td><td class="num">(\d*)<\/td><\/tr>/g,
      ),
    ];
    assert.deepEqual(
      rows.map((r) => [r[1], r[3], r[4]]),
      [
        ['lab writer (node)', '7', '7'],
        ['Java client 3.4.6', '5', '28'],
        ['Java client 3.8.0', '6', '24'],
      ],
    );
    assert.equal(rows[0]![8], '', 'the writer does not read');
    assert.match(rows[1]![2]!, /^3\.4\.6-1569965/);
    assert.match(rows[1]![5]!, /^setData \/lab-clients\/java-3\.4\.6: KeeperErrorCode = ConnectionLoss .*\(outage at \+0:15\)/);
    assert.match(rows[1]![6]!, /^no answer within 250 ms .*\(outage at \+1:37\)/);
    assert.ok(Number(rows[2]![8]) > 700, `reads of the 3.8.0 client: ${rows[2]![8]}`);
    const outages = /<h2>Client outages<\/h2><table>([\s\S]*?)<\/table>/.exec(html)![1]!;
    const from = [...outages.matchAll(/<tr><td class="id">[^<]+<\/td><td>\+(\d+):(\d+)<\/td>/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    assert.equal(from.length, 18);
    assert.deepEqual(
      from,
      [...from].sort((a, b) => a - b),
    );
  });

  it('refers to nothing outside the page: no URL, no script, no external resource', () => {
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /\bsrc=/i);
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
    assert.doesNotMatch(html, /xmlns/, 'inline SVG in HTML needs no namespace URL');
  });

  it('fits 1400 px wide', () => {
    assert.match(svg, /^<svg width="1360"/);
  });
});

describe('report.html escapes what runs put in it', () => {
  const evil = `<script>alert("x")</script> & 'q'`;
  const input: ReportInput = {
    report: {
      runId: `r<1>`,
      startedAt: new Date(T0).toISOString(),
      state: 'failed',
      failure: { index: 1, message: `gate failed: <b>"data" & 'more'</b>` },
      steps: [
        step(1, `pre<p>/x"y`, 0, 1000, { title: evil, notes: [`</title><img src=x onerror=alert(1)>`] }),
        step(2, 'grow/restart-1', 1000, 2000, { status: 'failed', title: `restart <"${evil}">` }),
      ],
    },
    cluster: evil,
    states: [{ t: T0 + 10, server: 'h:2181', label: `<h> · myid "1"`, state: 'leading' }],
    clients: [
      { name: `writer <&>`, events: [{ t: T0 + 100, event: 'error', error: `<svg onload=alert(1)>` }] },
      {
        name: `java "x"`,
        events: [
          { t: T0, event: 'start', version: `<i>3.8</i>` },
          { t: T0 + 200, event: 'error', error: 'e' },
          { t: T0 + 300, event: 'ok', failed: 2, lastError: `</td><td>` },
        ],
      },
    ],
    now: T0 + 5000,
  };
  const html = renderReportHtml(input);

  it('every text is escaped: no tag or attribute comes from the run', () => {
    assert.doesNotMatch(html, /<script|<img|<b>"data|<svg onload|<h>|<p>/);
    assert.match(html, /&#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62; &#38; &#39;q&#39;/);
    assert.match(html, /&#60;\/title&#62;&#60;img src=x onerror=alert\(1\)&#62;/);
    assert.doesNotMatch(html, /<i>3\.8/);
    assert.match(html, /&#60;i&#62;3\.8&#60;\/i&#62;/);
    assert.match(html, /&#60;\/td&#62;&#60;td&#62;/);
    assert.equal(count(html, /<svg/), 1);
  });

  it('a failed run says where it failed and colors the step', () => {
    assert.match(html, /Failure at step 2/);
    assert.match(html, new RegExp(`fill="${STEP_COLORS['failed']}"`));
  });

  it('esc covers the five characters', () => {
    assert.equal(esc(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});

describe('report.html of a large plan', () => {
  it('70 steps in 12 groups and 8 servers fit a 1400×900 window', () => {
    const steps = Array.from({ length: 70 }, (_, i) => step(i + 1, `g-${Math.floor(i / 6)}/s-${i}`, i * 1500, 1400));
    const states: StateChange[] = Array.from({ length: 8 }, (_, i) => ({
      t: T0 + i,
      server: `10.0.0.${i}:2181`,
      label: `10.0.0.${i} · myid ${i}`,
      state: i ? 'following' : 'leading',
    }));
    const html = renderReportHtml({
      report: { runId: 'r', startedAt: steps[0]!.startedAt!, state: 'done', failure: null, steps },
      cluster: 'big',
      states,
      now: T0,
    });
    const svg = svgOf(html);
    assert.equal(count(svg, /<title>step \d+: /), 70);
    assert.equal(count(svg, /class="lane" text-anchor="end">g-\d+</), 12);
    assert.equal(count(svg, /class="lane" text-anchor="end">10\.0\.0\.\d</), 8);
    const height = Number(/^<svg width="\d+" height="(\d+)"/.exec(svg)![1]);
    assert.ok(height <= 800, `the timeline is ${height} px tall`);
  });
});

describe('report.html of a run resumed hours later', () => {
  it('draws the pause narrow, so the steps on both sides stay readable', () => {
    const later = 3 * 3_600_000;
    const steps = [step(1, 'a/1', 0, 30_000), step(2, 'a/2', 30_000, 5_000, { status: 'failed' }), step(3, 'b/1', later, 30_000)];
    const input: ReportInput = {
      report: { runId: 'r', startedAt: steps[0]!.startedAt!, state: 'done', failure: null, steps },
      cluster: 'c',
      states: [],
      now: T0,
    };
    const tl = timeline(input);
    assert.deepEqual(
      tl.breaks.map((b) => [b.from - T0, b.to - T0]),
      [[35_000, later]],
    );
    const svg = svgOf(renderReportHtml(input));
    assert.match(svg, /<title>no step ran for 2 h 59 min \(\+0:35 to \+3:00:00\): drawn narrow<\/title>/);
    const widths = [...svg.matchAll(/width="([\d.]+)" height="22" fill="#4f9a61"/g)].map((m) => Number(m[1]));
    assert.equal(widths.length, 2);
    for (const w of widths) assert.ok(w > 300, `a 30 s step is ${w} px wide`);
  });
});

describe('report model', () => {
  const w = { from: T0, to: T0 + 10_000 };

  it('client outages run from an error to the next ok (or stop, or the window end), clipped to the window', () => {
    const lane = clientLane(
      'c',
      [
        { t: T0 - 5000, event: 'start' },
        { t: T0 - 1000, event: 'error', error: 'early', acked: 3 },
        { t: T0 + 500, event: 'ok', acked: 4 },
        { t: T0 + 2000, event: 'error', error: 'lost' },
        { t: T0 + 2100, event: 'error', error: 'again' },
        { t: T0 + 3000, event: 'ok', acked: 9 },
        { t: T0 + 9000, event: 'error', error: 'open' },
      ],
      w,
    );
    assert.deepEqual(
      lane.outages.map((o) => [o.from - T0, o.to - T0, o.error]),
      [
        [0, 500, 'early'],
        [2000, 3000, 'lost'],
        [9000, 10_000, 'open'],
      ],
    );
    assert.deepEqual(lane.observed, w);
    assert.equal(lane.acked, 9);
  });

  it("an outage's failed operations and last error come from the ok that ends it; errors sum them, first and last", () => {
    const lane = clientLane(
      'Java client 3.8.0',
      [
        { t: T0 - 100, event: 'start', version: '3.8.0-x' },
        { t: T0 + 1000, event: 'error', error: 'no answer within 250 ms', op: 'write', acked: 5, reads: 5 },
        { t: T0 + 3000, event: 'ok', acked: 6, reads: 5, failed: 4, lastError: 'getData /x: ConnectionLoss' },
        { t: T0 + 5000, event: 'error', error: 'setData /x: ConnectionLoss' },
        { t: T0 + 5500, event: 'ok', acked: 20, reads: 19 },
        { t: T0 + 8000, event: 'error', error: 'stalled' },
        { t: T0 + 9000, event: 'stop', acked: 30, reads: 29 },
      ],
      w,
    );
    assert.equal(lane.version, '3.8.0-x');
    assert.deepEqual(
      lane.outages.map((o) => [o.from - T0, o.to - T0, o.failed, o.error, o.lastError]),
      [
        [1000, 3000, 4, 'no answer within 250 ms', 'getData /x: ConnectionLoss'],
        [5000, 5500, 1, 'setData /x: ConnectionLoss', null],
        [8000, 9000, 1, 'stalled', null],
      ],
    );
    assert.deepEqual(lane.errors, {
      count: 6,
      first: { at: T0 + 1000, error: 'no answer within 250 ms' },
      last: { at: T0 + 8000, error: 'stalled' },
    });
    assert.deepEqual([lane.acked, lane.reads], [30, 29]);
    assert.deepEqual(lane.observed, { from: T0, to: T0 + 9000 });
    const quiet = clientLane('w', [{ t: T0 + 1, event: 'ok', acked: 1 }], w);
    assert.deepEqual([quiet.errors, quiet.reads, quiet.version], [{ count: 0, first: null, last: null }, null, null]);
  });

  it("parses the clients' lines (the Java clients' as they wrote them, the writer's), skipping what is not an event", () => {
    const text = [
      '{"t":1796102216914,"event":"start","connect":"127.0.99.1:2181","path":"/lab-clients/java-3.4.6","hz":15,"release":"3.4.6","version":"3.4.6-1569965, built on 02/20/2014 09:09 GMT","java":"17.0.15"}',
      '{"t":1796102217559,"event":"ok","acked":1,"reads":0}',
      '{"t":1796102224741,"event":"error","error":"getData /lab-clients/java-3.4.6: KeeperErrorCode = ConnectionLoss for /lab-clients/java-3.4.6","op":"read","acked":55,"reads":54}',
      '{"t":1796102234280,"event":"ok","acked":55,"reads":55,"failed":7,"lastError":"no answer within 250 ms"}',
      '',
      'garbage',
      'null',
      '[1,2]',
      '{"t":"soon","event":"ok"}',
      '{"t":1796102243751,"event":"stop","acked":125,"reads":124}',
      '{"t":17961022437',
    ].join('\n');
    const events = parseClientLog(text);
    assert.deepEqual(
      events.map((e) => e.event),
      ['start', 'ok', 'error', 'ok', 'stop'],
    );
    const lane = clientLane('Java client 3.4.6', events, { from: 1796102216914, to: 1796102243751 });
    assert.equal(lane.version, '3.4.6-1569965, built on 02/20/2014 09:09 GMT');
    assert.deepEqual(
      lane.outages.map((o) => [o.to - o.from, o.failed, o.lastError]),
      [[9539, 7, 'no answer within 250 ms']],
    );
    assert.deepEqual([lane.acked, lane.reads], [125, 124]);
  });

  it('server lanes leave out unknown (not sampled) time; elections sit where no server led', () => {
    const states: StateChange[] = [
      { t: T0 + 100, server: 'a', label: 'a', state: 'leading' },
      { t: T0 + 100, server: 'b', label: 'b', state: 'following' },
      { t: T0 + 2000, server: 'a', label: 'a', state: 'down' },
      { t: T0 + 2010, server: 'b', label: 'b', state: 'looking' },
      { t: T0 + 3000, server: 'b', label: 'b', state: 'leading' },
      { t: T0 + 6000, server: 'b', label: 'b', state: 'unknown' },
      { t: T0 + 6000, server: 'a', label: 'a', state: 'unknown' },
    ];
    const tl = timeline({
      report: {
        runId: 'r',
        startedAt: new Date(T0).toISOString(),
        state: 'done',
        failure: null,
        steps: [
          step(1, 'x/restart', 1500, 3000, { election: { from: 1, to: 2, ms: 1000 } }),
          step(2, 'x/restart-2', 4500, 1000, { election: { from: 2, to: 1, ms: 30 } }),
        ],
      },
      cluster: 'c',
      states: [...states].reverse(),
      now: T0 + 7000,
    });
    assert.deepEqual(
      tl.servers.map((l) => l.segments.map((s) => [s.state, s.from - T0, s.to - T0])),
      [
        [
          ['leading', 100, 2000],
          ['down', 2000, 6000],
        ],
        [
          ['following', 100, 2010],
          ['looking', 2010, 3000],
          ['leading', 3000, 6000],
        ],
      ],
    );
    assert.deepEqual(
      tl.leaderless.map((g) => [g.from - T0, g.to - T0]),
      [[2000, 3000]],
    );
    assert.deepEqual(
      tl.elections.map((e) => [e.at, e.from - T0, e.to - T0]),
      [
        ['sampled', 2000, 3000],
        ['step', 4500, 4530],
      ],
    );
  });

  it('a running step ends at now; pending steps draw nothing but count in their group', () => {
    const tl = timeline({
      report: {
        runId: 'r',
        startedAt: new Date(T0).toISOString(),
        state: 'running',
        failure: null,
        steps: [
          step(1, 'a/1', 0, 1000),
          step(2, 'a/2', 1000, 0, { status: 'running', endedAt: null }),
          step(3, 'b/1', 0, 0, { status: 'pending', startedAt: null, endedAt: null }),
        ],
      },
      cluster: 'c',
      states: [],
      now: T0 + 4000,
    });
    assert.equal(tl.to, T0 + 4000);
    assert.deepEqual(
      tl.steps.map((l) => [l.group, l.total, l.bars.map((b) => b.to - b.from)]),
      [
        ['a', 2, [1000, 3000]],
        ['b', 1, []],
      ],
    );
  });

  it('formats durations and offsets', () => {
    assert.deepEqual([duration(40), duration(1505), duration(12_340), duration(123_000)], ['40 ms', '1.51 s', '12.3 s', '2 min 03 s']);
    assert.deepEqual([offset(0), offset(65_000), offset(3_723_000)], ['0:00', '1:05', '1:02:03']);
  });
});
