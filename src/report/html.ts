// report.html: a picture of one run as a single self-contained HTML page (inline CSS, inline
// SVG, no script, no external reference: it reads offline and can be mailed). A time axis; one
// lane per step group (bars coloured by status); one lane per server (its sampled state over
// time: down, looking, following, leading, observing); the elections (where no server led, and
// each measured election); one lane per client measured (the lab writer, the Java clients of
// several releases: each its outages, its failed operations and first and last errors); then
// tables of the elections, the clients, their outages and the steps. Every bar has its details
// as a tooltip (<title>).
// Pure: ReportInput (src/report/model.ts) → one HTML string.
// Invariants: every text from the run (plan names, step titles, notes, errors) is escaped; the
// page holds no URL at all; drawn for 1400 px wide windows, lanes grow with the plan (70 steps
// in 10 groups, 8 servers fit a 900 px tall window; so do the incident's 68 steps, 6 servers and
// 3 clients).
import type { ServerState } from '../run/sampler.js';
import {
  timeline,
  type ClientLane,
  type ClientOutage,
  type ElectionMark,
  type ReportInput,
  type ReportStep,
  type ServerLane,
  type StepLane,
  type Timeline,
} from './model.js';

/** Escape text for HTML and SVG text and attribute values. */
export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A duration: "40 ms", "1.51 s", "2 min 03 s", "3 h 05 min". */
export function duration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)} h ${String(Math.round((ms % 3_600_000) / 60_000)).padStart(2, '0')} min`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.round(ms / 10) / 100).toFixed(2)} s`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** An offset from the run's start: "0:05", "12:30", "1:02:03". */
export function offset(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export const STEP_COLORS: Record<string, string> = { done: '#4f9a61', failed: '#d0453b', running: '#3b7dd8', skipped: '#b5b5b5', pending: '#e3e3e3' };
export const STATE_COLORS: Record<Exclude<ServerState, 'unknown'>, string> = {
  leading: '#1d4f91',
  following: '#7eb0e0',
  observing: '#6cc3b0',
  standalone: '#8e6bbf',
  looking: '#f0a43a',
  down: '#c3c3c3',
};
export const OUTAGE = '#d0453b';
const ELECTION = '#e8590c';
const LEADERLESS = '#fbd5d0';
const PAUSE = '#eef1f4';

// geometry (px)
const W = 1360;
const X0 = 230;
const PW = W - X0 - 20;
const LANE = 22;
const GAP = 5;
const HEAD = 26;
const CHAR = 6.4;
/** Width of a pause where no step ran (Timeline.breaks). */
const BREAK_PX = 64;

interface Frame {
  tl: Timeline;
  x: (t: number) => number;
}

const rect = (x: number, y: number, w: number, h: number, fill: string, title: string, extra = '') =>
  `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(1.5, w).toFixed(1)}" height="${h}" fill="${fill}"${extra}><title>${esc(title)}</title></rect>`;
const text = (x: number, y: number, t: string, cls: string, anchor = 'start') =>
  `<text x="${x.toFixed(1)}" y="${y}" class="${cls}" text-anchor="${anchor}">${esc(t)}</text>`;
/** A label inside a bar when it fits. */
const inside = (x: number, w: number, y: number, t: string, cls: string) => (w >= t.length * CHAR + 8 ? text(x + 4, y + LANE / 2 + 4, t, cls) : '');

function laneLabel(y: number, label: string, sub: string): string {
  return `${text(X0 - 10, y + LANE / 2 + 4, label, 'lane', 'end')}${sub ? text(X0 - 10, y + LANE / 2 + 15, sub, 'sub', 'end') : ''}`;
}

function stepTitle(s: ReportStep, at: number): string {
  const parts = [`step ${s.n}: ${s.title}`, `${s.status}${s.durationMs !== null ? `, ${duration(s.durationMs)}` : ''}, at +${offset(at)}`];
  if (s.attempts > 1) parts.push(`${s.attempts} attempts`);
  if (s.resolved !== null) parts.push(`resolved to server ${s.resolved}`);
  if (s.election) parts.push(`election ${s.election.from ?? '?'} → ${s.election.to ?? '?'} in ${s.election.ms} ms`);
  return [...parts, ...s.notes].join('\n');
}

function stepLane(f: Frame, lane: StepLane, y: number): string {
  const bars = lane.bars.map((b) => {
    const x = f.x(b.from);
    const w = f.x(b.to) - x;
    const short = b.step.id.slice(lane.group.length + 1) || b.step.id;
    const label = `${short}${b.step.resolved !== null ? ` → ${b.step.resolved}` : ''}`;
    return rect(x, y, w, LANE, STEP_COLORS[b.step.status] ?? '#999', stepTitle(b.step, b.from - f.tl.from), ' rx="2"') + inside(x, w, y, label, 'in');
  });
  const started = lane.bars.length < lane.total ? `${lane.bars.length} of ` : '';
  return laneLabel(y, lane.group, `${started}${lane.total} step${lane.total === 1 ? '' : 's'}`) + bars.join('');
}

function serverLane(f: Frame, lane: ServerLane, y: number): string {
  const [host, myid] = lane.label.split(' · ');
  const segs = lane.segments.map((s) => {
    const x = f.x(s.from);
    const w = f.x(s.to) - x;
    const fill = STATE_COLORS[s.state as keyof typeof STATE_COLORS] ?? '#999';
    const tip = `${lane.label}: ${s.state} from +${offset(s.from - f.tl.from)} for ${duration(s.to - s.from)}`;
    return rect(x, y, w, LANE, fill, tip) + inside(x, w, y, s.state, s.state === 'leading' ? 'in' : 'in dark');
  });
  return (
    `<line x1="${X0}" x2="${X0 + PW}" y1="${y + LANE / 2}" y2="${y + LANE / 2}" class="nodata"/>` + laneLabel(y, host ?? lane.label, myid ?? '') + segs.join('')
  );
}

function electionLane(f: Frame, y: number): string {
  const gaps = f.tl.leaderless.map((g) =>
    rect(
      f.x(g.from),
      y,
      f.x(g.to) - f.x(g.from),
      LANE,
      LEADERLESS,
      `no server leading (sampled) from +${offset(g.from - f.tl.from)} for ${duration(g.to - g.from)}`,
    ),
  );
  const marks = f.tl.elections.map((e) => {
    const x = f.x(e.from);
    const w = Math.max(3, f.x(e.to) - x);
    const el = e.step.election!;
    const label = `${el.from ?? '?'}→${el.to ?? '?'} ${duration(el.ms)}`;
    const tip = `election at step ${e.step.n} (${e.step.title}): leader ${el.from ?? '?'} → ${el.to ?? '?'} in ${el.ms} ms (measured)${e.at === 'step' ? '; placed at the step start (not seen by the sampler)' : ''}`;
    return { x, w, label, bar: rect(x, y + 3, w, LANE - 6, ELECTION, tip, ' rx="2"') };
  });
  return laneLabel(y, 'elections', `${f.tl.elections.length} measured`) + gaps.join('') + labelled(marks, y);
}

/**
 * Bars with a label right of each where it fits before the next bar (else inside the bar when
 * it is wide enough, else none: the tooltip has it).
 */
function labelled(bars: { x: number; w: number; label: string; bar: string }[], y: number): string {
  return bars
    .map((b, i) => {
      const room = (bars[i + 1]?.x ?? X0 + PW + 20) - (b.x + b.w) - 8;
      if (room >= b.label.length * CHAR) return b.bar + text(b.x + b.w + 4, y + LANE / 2 + 4, b.label, 'lbl');
      return b.bar + inside(b.x, b.w, y, b.label, 'in');
    })
    .join('');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** An outage's errors in words: its failed operations, its first error, and its last one when it differs. */
function outageErrors(o: ClientOutage): string {
  const last = o.lastError !== null && o.lastError !== o.error ? `; last: ${o.lastError}` : '';
  return `${plural(o.failed, 'failed operation')}; first error: ${o.error}${last}`;
}

function clientLaneSvg(f: Frame, c: ClientLane, y: number): string {
  const version = c.version ? ` (${c.version})` : '';
  const band = c.observed
    ? rect(f.x(c.observed.from), y, f.x(c.observed.to) - f.x(c.observed.from), LANE, '#cfe8d4', `${c.name}${version}: running, answered`)
    : '';
  const outs = c.outages.map((o) => {
    const x = f.x(o.from);
    const w = Math.max(1.5, f.x(o.to) - x);
    const tip = `${c.name}: outage from +${offset(o.from - f.tl.from)} for ${duration(o.to - o.from)}: ${outageErrors(o)}`;
    return { x, w, label: duration(o.to - o.from), bar: rect(x, y, w, LANE, OUTAGE, tip) };
  });
  const sub = c.observed ? `${plural(c.outages.length, 'outage')}, ${plural(c.errors.count, 'error')}` : 'no data in this window';
  return laneLabel(y, c.name, sub) + band + labelled(outs, y);
}

/** Time → x: linear, except that each pause (Timeline.breaks) is BREAK_PX wide. */
function scale(tl: Timeline): (t: number) => number {
  const paused = tl.breaks.reduce((a, b) => a + b.to - b.from, 0);
  const px = (PW - tl.breaks.length * BREAK_PX) / Math.max(1, tl.to - tl.from - paused);
  return (t) => {
    let x = X0;
    let from = tl.from;
    for (const b of tl.breaks) {
      if (t <= b.from) break;
      x += (b.from - from) * px;
      if (t < b.to) return x + ((t - b.from) / (b.to - b.from)) * BREAK_PX;
      x += BREAK_PX;
      from = b.to;
    }
    return x + (t - from) * px;
  };
}

/** A pause, drawn as a shaded narrow band over every lane with its length on the axis. */
function pause(f: Frame, b: { from: number; to: number }, top: number, bottom: number): string {
  const x = f.x(b.from);
  const tip = `no step ran for ${duration(b.to - b.from)} (+${offset(b.from - f.tl.from)} to +${offset(b.to - f.tl.from)}): drawn narrow`;
  const edge = (at: number) => `<line x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="${top}" y2="${bottom}" class="edge"/>`;
  return (
    rect(x, top, BREAK_PX, bottom - top, PAUSE, tip) +
    edge(x) +
    edge(x + BREAK_PX) +
    text(x + BREAK_PX / 2, top - 6, duration(b.to - b.from), 'tick brk', 'middle')
  );
}

/** Tick spacing (ms) for about 12 ticks. */
function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600].map((s) => s * 1000);
  return steps.find((s) => span / s <= 14) ?? 43_200_000;
}

function axis(f: Frame, top: number, bottom: number): string {
  const { breaks, from, to } = f.tl;
  const step = tickStep(to - from - breaks.reduce((a, b) => a + b.to - b.from, 0));
  const near = (x: number) => breaks.some((b) => x > f.x(b.from) - 24 && x < f.x(b.to) + 24);
  const out: string[] = [];
  const edges = [from, ...breaks.flatMap((b) => [b.from, b.to]), to];
  for (let i = 0; i < edges.length; i += 2)
    for (let o = Math.ceil((edges[i]! - from) / step) * step; from + o <= edges[i + 1]!; o += step) {
      const x = f.x(from + o);
      if (near(x) && o > 0) continue;
      out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${bottom}" class="grid"/>`);
      out.push(text(x, top - 6, offset(o), 'tick', 'middle'), text(x, bottom + 14, offset(o), 'tick', 'middle'));
    }
  return out.join('') + breaks.map((b) => pause(f, b, top, bottom)).join('');
}

function section(y: number, title: string): string {
  return text(12, y + 16, title, 'sec') + `<line x1="12" x2="${W - 12}" y1="${y + 21}" y2="${y + 21}" class="rule"/>`;
}

/** The SVG timeline: axis, step lanes, server lanes, the leader lane, the client lane. */
function svg(tl: Timeline): string {
  const f: Frame = { tl, x: scale(tl) };
  const parts: string[] = [];
  const top = 26;
  let y = top;
  const lanes = (title: string, draw: ((y: number) => string)[]) => {
    if (draw.length === 0) return;
    parts.push(section(y, title));
    y += HEAD;
    for (const d of draw) {
      parts.push(d(y));
      y += LANE + GAP;
    }
    y += 4;
  };
  lanes(
    'Steps',
    tl.steps.map((l) => (yy: number) => stepLane(f, l, yy)),
  );
  const serversTop = y + HEAD;
  lanes(
    'Servers',
    tl.servers.map((l) => (yy: number) => serverLane(f, l, yy)),
  );
  const serversBottom = y - GAP - 4;
  lanes('Leader', [(yy: number) => electionLane(f, yy)]);
  lanes(
    'Clients',
    tl.clients.map((c) => (yy: number) => clientLaneSvg(f, c, yy)),
  );
  const markers = tl.servers.length > 0 ? tl.elections.map((e) => electionLine(f, e, serversTop, serversBottom)).join('') : '';
  const height = y + 22;
  return `<svg width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-label="timeline of the run">${axis(f, top, y - 6)}${parts.join('')}${markers}</svg>`;
}

function electionLine(f: Frame, e: ElectionMark, top: number, bottom: number): string {
  const x = f.x(e.from).toFixed(1);
  return `<line x1="${x}" x2="${x}" y1="${top - 2}" y2="${bottom + 2}" class="elect"/>`;
}

const STYLE = `
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;margin:16px 20px;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:22px 0 6px}
.meta{color:#57606a;margin:0 0 6px}.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;margin-right:6px}
.facts span{margin-right:18px}.facts b{font-weight:600}
svg text{font-family:inherit}.lane{font-size:12px;font-weight:600;fill:#1f2328}.sub{font-size:10px;fill:#6e7781}
.in{font-size:10.5px;fill:#fff;pointer-events:none}.in.dark{fill:#1f2328}.lbl{font-size:10.5px;fill:#1f2328}
.tick{font-size:10px;fill:#6e7781}.brk{font-weight:600}.edge{stroke:#8c959f;stroke-dasharray:3 3}.sec{font-size:11px;font-weight:700;fill:#57606a;letter-spacing:.08em;text-transform:uppercase}
.grid{stroke:#eaeef2;stroke-width:1}.rule{stroke:#d0d7de;stroke-width:1}.nodata{stroke:#d0d7de;stroke-dasharray:2 3}
.elect{stroke:${ELECTION};stroke-width:1.5;stroke-dasharray:4 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:6px 0 0;color:#57606a}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:5px}
table{border-collapse:collapse;font-size:12px}th,td{padding:3px 10px 3px 0;text-align:left;vertical-align:top;border-bottom:1px solid #eaeef2}th{color:#57606a;font-weight:600}
td.num,td.id{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}.fail{color:#d0453b}
`;

function legend(tl: Timeline): string {
  const item = (color: string, name: string) => `<span><i style="background:${color}"></i>${esc(name)}</span>`;
  const steps = Object.entries(STEP_COLORS)
    .filter(([k]) => k !== 'pending')
    .map(([k, c]) => item(c, `step ${k}`));
  const states = Object.entries(STATE_COLORS).map(([k, c]) => item(c, k));
  const rest = [
    item(LEADERLESS, 'no leader (sampled)'),
    item(ELECTION, 'election (measured)'),
    ...(tl.clients.length > 0 ? [item(OUTAGE, 'client outage')] : []),
  ];
  return `<div class="legend">${[...steps, ...states, ...rest].join('')}</div>`;
}

/** "743 ms" for one duration, "1.28 s–1.51 s" for several. */
function span(ms: number[]): string {
  const [lo, hi] = [Math.min(...ms), Math.max(...ms)];
  return lo === hi ? duration(lo) : `${duration(lo)}–${duration(hi)}`;
}

/** From the first step's start to the last step's end (ms). */
function runMs(steps: ReportStep[]): number {
  const starts = steps.map((s) => Date.parse(s.startedAt ?? '')).filter(Number.isFinite);
  const ends = steps.map((s) => Date.parse(s.endedAt ?? '')).filter(Number.isFinite);
  return starts.length && ends.length ? Math.max(...ends) - Math.min(...starts) : 0;
}

function facts(input: ReportInput, tl: Timeline): string {
  const steps = input.report.steps;
  const count = (st: string) => steps.filter((s) => s.status === st).length;
  const el = tl.elections.map((e) => e.step.election!.ms);
  const paused = tl.breaks.reduce((a, b) => a + b.to - b.from, 0);
  const out: string[] = [
    `<b>${count('done')}</b> of ${steps.length} steps done${count('skipped') ? `, ${count('skipped')} skipped` : ''}${count('failed') ? `, <span class="fail">${count('failed')} failed</span>` : ''}`,
    `took <b>${duration(runMs(steps))}</b>${paused ? `, ${duration(runMs(steps) - paused)} without the pauses` : ''}`,
    el.length ? `<b>${el.length}</b> election${el.length === 1 ? '' : 's'}, ${span(el)}` : 'no election measured',
  ];
  for (const c of tl.clients) {
    const n = c.outages.length;
    out.push(
      n
        ? `${esc(c.name)}: <b>${n}</b> outage${n === 1 ? '' : 's'}, longest ${duration(longest(c))}, ${duration(outageMs(c))} in all`
        : `${esc(c.name)}: no outage`,
    );
  }
  return `<p class="facts">${out.map((o) => `<span>${o}</span>`).join('')}</p>`;
}

const outageMs = (c: ClientLane) => c.outages.reduce((a, o) => a + o.to - o.from, 0);
const longest = (c: ClientLane) => Math.max(0, ...c.outages.map((o) => o.to - o.from));

/** The clients: one row each (outages, errors, what it had done), then every outage of every client in time order. */
function clientTables(tl: Timeline, at: (t: number) => string): string {
  const count = (n: number | null) => (n === null ? '' : String(n));
  const error = (e: { at: number; error: string } | null) => (e ? `${esc(e.error)} <span class="meta">(outage at ${at(e.at)})</span>` : '');
  const rows = tl.clients.map((c) => {
    const n = c.outages.length;
    const cells = [
      `<td class="id">${esc(c.name)}</td><td>${esc(c.version ?? '')}</td>`,
      `<td class="num">${n}</td><td class="num">${n ? duration(longest(c)) : ''}</td><td class="num">${n ? duration(outageMs(c)) : ''}</td>`,
      `<td class="num">${c.errors.count}</td><td>${error(c.errors.first)}</td><td>${n > 1 || c.outages[0]?.lastError ? error(c.errors.last) : ''}</td>`,
      `<td class="num">${count(c.acked)}</td><td class="num">${count(c.reads)}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  const head =
    '<tr><th>client</th><th>library</th><th>outages</th><th>longest</th><th>in all</th><th>errors</th><th>first error</th><th>last error</th><th>writes</th><th>reads</th></tr>';
  const out = [`<h2>Clients</h2><table>${head}${rows.join('')}</table>`];
  const outages = tl.clients.flatMap((c) => c.outages.map((o) => ({ c, o }))).sort((a, b) => a.o.from - b.o.from);
  if (outages.length > 0) {
    const orows = outages.map(
      ({ c, o }) =>
        `<tr><td class="id">${esc(c.name)}</td><td>${at(o.from)}</td><td class="num">${duration(o.to - o.from)}</td><td class="num">${o.failed}</td><td>${esc(o.error)}</td><td>${o.lastError !== null && o.lastError !== o.error ? esc(o.lastError) : ''}</td></tr>`,
    );
    out.push(
      `<h2>Client outages</h2><table><tr><th>client</th><th>from</th><th>for</th><th>errors</th><th>first error</th><th>last error</th></tr>${orows.join('')}</table>`,
    );
  }
  return out.join('\n');
}

function tables(input: ReportInput, tl: Timeline): string {
  const at = (t: number) => `+${offset(t - tl.from)}`;
  const out: string[] = [];
  if (input.report.failure)
    out.push(`<h2 class="fail">Failure at step ${input.report.failure.index + 1}</h2><p class="fail">${esc(input.report.failure.message)}</p>`);
  if (tl.elections.length > 0) {
    const rows = tl.elections.map((e) => {
      const el = e.step.election!;
      return `<tr><td class="num">${e.step.n}</td><td>${esc(e.step.title)}</td><td>${esc(el.from ?? '?')} → ${esc(el.to ?? '?')}</td><td class="num">${el.ms} ms</td><td>${at(e.from)}${e.at === 'step' ? ' (step start)' : ''}</td></tr>`;
    });
    out.push(`<h2>Elections</h2><table><tr><th>step</th><th></th><th>leader</th><th>measured</th><th>at</th></tr>${rows.join('')}</table>`);
  }
  if (tl.clients.length > 0) out.push(clientTables(tl, at));
  const rows = input.report.steps.map(
    (s) =>
      `<tr><td class="num">${s.n}</td><td class="id">${esc(s.id)}</td><td>${esc(s.title)}</td><td style="color:${STEP_COLORS[s.status] ?? '#999'}">${esc(s.status)}</td><td class="num">${s.durationMs === null ? '' : duration(s.durationMs)}</td><td class="num">${s.attempts}</td><td>${s.notes.map(esc).join('<br>')}</td></tr>`,
  );
  out.push(`<h2>Steps</h2><table><tr><th>#</th><th>id</th><th>step</th><th>status</th><th>took</th><th>tries</th><th>notes</th></tr>${rows.join('')}</table>`);
  return out.join('\n');
}

/** The page. */
export function renderReportHtml(input: ReportInput): string {
  const tl = timeline(input);
  const r = input.report;
  const color = STEP_COLORS[r.state === 'done' ? 'done' : r.state === 'failed' ? 'failed' : 'running'];
  const started = new Date(tl.from)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zkroll ${esc(input.cluster)} run ${esc(r.runId)}</title><style>${STYLE}</style></head>
<body>
<h1>zkroll · ${esc(input.cluster)} · run ${esc(r.runId)}</h1>
<p class="meta"><span class="badge" style="background:${color}">${esc(r.state)}</span>from ${started}; times are from the run's start (m:ss); hover a bar for its details</p>
${facts(input, tl)}
${svg(tl)}
${legend(tl)}
${tables(input, tl)}
</body></html>
`;
}
