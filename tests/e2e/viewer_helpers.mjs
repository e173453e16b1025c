// What the viewer's browser tests share: Chromium flags, a site folder (build/web plus the tiny test
// model), `coronanet predict` references, NIfTI/mask comparison, and clicking ImGui widgets at the
// rectangles the C++ side exports in window.coronanet.state().widgets.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_DIR = process.env.CORONA_WEB_DIR || path.join(ROOT, 'build/web');
export const BIN = process.env.CORONANET_BIN || path.join(ROOT, 'build/bin/coronanet');
export const ARTIFACTS = path.join(ROOT, 'build/test-artifacts');
export const FIXTURES = path.join(ROOT, 'tests/fixtures');
export const SHIPPED_MODEL = path.join(ROOT, 'models/corona-net');
// --enable-unsafe-webgpu: headless Chromium offers its SwiftShader WebGPU adapter (CPU Vulkan) on a
// loopback origin, so the WebGPU EP is tested without a GPU.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

// build/web's entries linked into a temporary folder, plus extra model folders under models/.
export function makeSite(extraModels = {}) {
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'corona-viewer-site-'));
  for (const entry of fs.readdirSync(WEB_DIR)) {
    if (entry !== 'models') fs.symlinkSync(path.join(WEB_DIR, entry), path.join(site, entry));
  }
  fs.mkdirSync(path.join(site, 'models'));
  for (const entry of fs.readdirSync(path.join(WEB_DIR, 'models'))) {
    fs.symlinkSync(path.join(WEB_DIR, 'models', entry), path.join(site, 'models', entry));
  }
  for (const [name, dir] of Object.entries(extraModels)) fs.symlinkSync(dir, path.join(site, 'models', name));
  return site;
}

// `coronanet predict` on a file: {report, mask: {data, nx, ny, nz} for NIfTI | maskPng: Buffer}.
export function predictNative(input, model, outDir) {
  const r = spawnSync(BIN, ['predict', '-i', input, '-o', outDir, '--model', model, '--threads', '2'],
                      { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`coronanet predict failed (${r.status}): ${r.stderr}`);
  const stem = path.basename(input).replace(/\.nii\.gz$|\.nii$|\.png$|\.jpe?g$/i, '');
  const report = JSON.parse(fs.readFileSync(path.join(outDir, `${stem}.json`), 'utf8'));
  const niftiPath = path.join(outDir, `${stem}.mask.nii.gz`);
  if (fs.existsSync(niftiPath)) return { report, mask: readNiftiLabels(fs.readFileSync(niftiPath)) };
  return { report, maskPng: fs.readFileSync(path.join(outDir, `${stem}.mask.png`)) };
}

// A uint8 NIfTI-1 label volume (gzip or not): the header fields we need, read by hand.
export function readNiftiLabels(bytes) {
  const buf = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : Buffer.from(bytes);
  if (buf.readInt32LE(0) !== 348) throw new Error('not a little-endian NIfTI-1 file');
  const ndim = buf.readInt16LE(40);
  const [nx, ny] = [buf.readInt16LE(42), buf.readInt16LE(44)];
  const nz = ndim >= 3 ? buf.readInt16LE(46) : 1;
  const datatype = buf.readInt16LE(70);
  if (datatype !== 2) throw new Error(`labels must be uint8 (datatype 2), got ${datatype}`);
  const offset = Math.round(buf.readFloatLE(108));
  return { data: new Uint8Array(buf.subarray(offset, offset + nx * ny * nz)), nx, ny, nz, ndim };
}

// Per slice: the mean over foreground classes present in either map of the class Dice (a slice
// where neither has any foreground scores 1).
export function dicePerSlice(a, b, nx, ny, nz) {
  const plane = nx * ny;
  const out = [];
  for (let z = 0; z < nz; z++) {
    const inter = new Map(), sa = new Map(), sb = new Map();
    for (let i = z * plane; i < (z + 1) * plane; i++) {
      if (a[i]) sa.set(a[i], (sa.get(a[i]) || 0) + 1);
      if (b[i]) sb.set(b[i], (sb.get(b[i]) || 0) + 1);
      if (a[i] && a[i] === b[i]) inter.set(a[i], (inter.get(a[i]) || 0) + 1);
    }
    const classes = new Set([...sa.keys(), ...sb.keys()]);
    if (classes.size === 0) { out.push(1); continue; }
    let sum = 0;
    for (const c of classes) sum += (2 * (inter.get(c) || 0)) / ((sa.get(c) || 0) + (sb.get(c) || 0));
    out.push(sum / classes.size);
  }
  return out;
}

// Decodes a grey PNG's values in the page (the mask PNGs are 8-bit grey label maps).
export async function decodeGreyPng(page, pngBytes) {
  return new Uint8Array(await page.evaluate(async (b64) => {
    const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' });
    const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bmp, 0, 0);
    const rgba = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    return Array.from({ length: bmp.width * bmp.height }, (_, i) => rgba[4 * i]);
  }, Buffer.from(pngBytes).toString('base64')));
}

export const state = (page) => page.evaluate(() => window.coronanet.state());

// Clicks the ImGui widget `name` at the rectangle C++ recorded for it (canvas coordinates).
export async function clickWidget(page, name) {
  // Rectangles are recorded while drawing: let two frames lay out what the last change showed.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const s = await state(page);
  const r = s.widgets[name];
  if (!r) throw new Error(`no widget "${name}" in ${Object.keys(s.widgets).join(', ')}`);
  const canvas = await page.locator('#canvas').boundingBox();
  const x = canvas.x + r[0] + r[2] / 2, y = canvas.y + r[1] + r[3] / 2;
  await page.mouse.move(x, y);
  await page.waitForTimeout(60);  // let a frame see the hover before the press
  await page.mouse.down();
  await page.waitForTimeout(60);
  await page.mouse.up();
  await page.waitForTimeout(120);
}

export async function waitForRun(page, timeoutMs = 300_000) {
  await page.waitForFunction(() => {
    const p = window.coronanet.state().run.phase;
    return p === 'done' || p === 'failed' || p === 'cancelled';
  }, null, { timeout: timeoutMs, polling: 200 });
  return state(page);
}
