// report.html as a browser shows it: the incident run's page (report-fixture.ts) opened from a
// file in headless Chromium (/usr/bin/chromium, installed by .ci/run) at 1400×900, its PNG
// decoded here (zlib and PNG's row filters: no image library) and checked: the window's size,
// and the lanes really drawn (the colors of done steps, leading, following, looking and down
// servers and client outages, each over a visible area). Fails when Chromium is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { OUTAGE, renderReportHtml, STATE_COLORS, STEP_COLORS } from '../../src/report/html.js';
import { incidentInput } from './report-fixture.js';

const CHROMIUM = '/usr/bin/chromium';

interface Png {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row by row. */
  rgba: Buffer;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes). */
function decodePng(buf: Buffer): Png {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length;) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth');
      assert.ok(data[9] === 2 || data[9] === 6, `color type ${data[9]}`);
      assert.equal(data[12], 0, 'not interlaced');
      channels = data[9] === 6 ? 4 : 3;
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? rows[y * stride + i - channels]! : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? rows[(y - 1) * stride + i - channels]! : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter]!;
      rows[y * stride + i] = (src[i]! + pred) & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4, 255);
  for (let p = 0; p < width * height; p++) rows.copy(rgba, p * 4, p * channels, p * channels + 3);
  return { width, height, rgba };
}

/** How many pixels have about this color (each channel within 3). */
function pixelsOf(png: Png, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  let n = 0;
  for (let p = 0; p < png.rgba.length; p += 4)
    if (Math.abs(png.rgba[p]! - r) <= 3 && Math.abs(png.rgba[p + 1]! - g) <= 3 && Math.abs(png.rgba[p + 2]! - b) <= 3) n++;
  return n;
}

describe('report.html in headless Chromium', () => {
  it('renders the incident run at 1400×900 with every lane visible', { timeout: 60_000 }, () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install it (apt-get install chromium; .ci/run does)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-report-shot-'));
    try {
      const html = path.join(dir, 'report.html');
      const png = path.join(dir, 'report.png');
      fs.writeFileSync(html, renderReportHtml(incidentInput()));
      const r = spawnSync(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          `--user-data-dir=${path.join(dir, 'profile')}`,
          `--screenshot=${png}`,
          '--window-size=1400,900',
          `file://${html}`,
        ],
        { encoding: 'utf8', timeout: 45_000 },
      );
      assert.ok(fs.existsSync(png), `no screenshot (exit ${r.status}): ${r.stderr}`);
      const image = decodePng(fs.readFileSync(png));
      assert.deepEqual([image.width, image.height], [1400, 900]);
      const areas: [string, string, number][] = [
        ['done steps', STEP_COLORS['done']!, 5000],
        ['leading', STATE_COLORS.leading, 5000],
        ['following', STATE_COLORS.following, 5000],
        ['looking', STATE_COLORS.looking, 1000],
        ['down', STATE_COLORS.down, 5000],
        ['client outages', OUTAGE, 1000],
      ];
      for (const [what, color, least] of areas) {
        const n = pixelsOf(image, color);
        assert.ok(n >= least, `${what} (${color}): ${n} pixels, want at least ${least}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
