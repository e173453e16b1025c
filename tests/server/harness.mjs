// tests/server/harness.mjs: what the server tests share: a model folder exported from the committed
// tiny checkpoint, a `coronanet serve` process on a free loopback port, NIfTI bytes written here
// (so malformed variants are easy), and `coronanet predict` for the reference answers.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = join(ROOT, 'tests/fixtures');
// ctest passes the binary it built; by hand: CORONANET_BIN=build/bin/coronanet node --test tests/server/
export const BIN = process.env.CORONANET_BIN || join(ROOT, 'build/bin/coronanet');

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `coronanet-${prefix}-`));
}

function run(args, what) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r;
}

// The tiny test model as a model folder: its training slices in the data folder layout
// (tests/fixtures/models/tiny/README.md), then coronanet export.
export function exportTinyModel(dir) {
  const data = join(dir, 'data/medseg100');
  for (const sub of ['images', 'masks_4class_derived', 'splits']) mkdirSync(join(data, sub), { recursive: true });
  for (const i of ['0022', '0032', '0048']) {
    copyFileSync(join(FIXTURES, `medseg/tr_im_${i}.png`), join(data, `images/tr_im_${i}.png`));
    copyFileSync(join(FIXTURES, `medseg/tr_mask_4class_${i}.png`), join(data, `masks_4class_derived/tr_mask_${i}.png`));
  }
  writeFileSync(join(data, 'splits/covid_semi_seg_split.json'), '{"train": [22, 32], "val": [48], "test": []}');
  const model = join(dir, 'model');
  run(['export', '--checkpoint', join(FIXTURES, 'models/tiny/checkpoint.pt'), '--out', model, '--version', '0',
       '--data', join(dir, 'data')], 'coronanet export');
  return model;
}

// A web app folder with an index page, and a secret file beside it that must never be served.
export function makeWebDir(dir) {
  const web = join(dir, 'web');
  mkdirSync(web, { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>corona-net test app</title>');
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE-WEB');
  return web;
}

// `coronanet serve` on 127.0.0.1 and a free port. Resolves once it prints its address.
export async function startServer(args) {
  const proc = spawn(BIN, ['serve', '--port', '0', '--threads', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = { proc, log: '', url: null };
  proc.stdout.on('data', (d) => { server.log += d; });
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${server.log}`)), 120_000);
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`server exited (${code}):\n${server.log}`)); });
    proc.stderr.on('data', (d) => {
      server.log += d;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(server.log);
      if (m && !server.url) { server.url = m[1]; clearTimeout(timer); ok(); }
    });
  });
  server.stop = () => new Promise((ok) => {
    if (proc.exitCode !== null) return ok(proc.exitCode);
    proc.once('exit', (code, signal) => ok(code ?? signal));
    proc.kill('SIGTERM');
  });
  return server;
}

export async function api(server, path, { method = 'GET', body, token, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(server.url + path, { method, body, headers: h });
  } catch (e) {
    // undici says only "fetch failed"; the socket-level cause (ECONNRESET, "other side closed", ...)
    // is what tells a server fault from a client's reused keep-alive connection.
    const cause = e.cause ? ` (${e.cause.code || ''} ${e.cause.message || e.cause})` : '';
    throw new Error(`${method} ${path}: ${e.message}${cause}`, { cause: e });
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  let json = null;
  if ((res.headers.get('content-type') || '').includes('application/json')) json = JSON.parse(bytes.toString('utf8'));
  return { status: res.status, headers: res.headers, bytes, json };
}

const FINISHED = new Set(['done', 'failed', 'cancelled']);

// Polls a job until it has finished; its last state.
export async function waitJob(server, id, { token, timeoutMs = 120_000 } = {}) {
  const t0 = Date.now();
  for (;;) {
    const r = await api(server, `/api/v1/jobs/${id}`, { token });
    if (r.status !== 200) throw new Error(`job ${id}: HTTP ${r.status} ${r.bytes}`);
    if (FINISHED.has(r.json.state)) return r.json;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${r.json.state}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

export async function waitState(server, id, states, { token, timeoutMs = 60_000 } = {}) {
  const t0 = Date.now();
  for (;;) {
    const r = await api(server, `/api/v1/jobs/${id}`, { token });
    if (r.status === 200 && states.includes(r.json.state)) return r.json;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} never reached ${states}: ${r.bytes}`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

// `coronanet predict` on one file: its report and mask bytes.
export function predict(model, file, outDir) {
  run(['predict', '-i', file, '-o', outDir, '--model', model, '--threads', '1'], 'coronanet predict');
  const stem = file.split('/').pop().replace(/\.nii\.gz$|\.[^.]+$/, '');
  const report = JSON.parse(readFileSync(join(outDir, `${stem}.json`), 'utf8'));
  const ext = report.kind === 'volume' ? 'nii.gz' : 'png';
  return { report, mask: readFileSync(join(outDir, `${stem}.mask.${ext}`)),
           overlay: readFileSync(join(outDir, `${stem}.overlay.png`)) };
}

// The parts of a report that depend on the call, not the answer: file names, timing, model path.
export function comparable(report) {
  const r = structuredClone(report);
  delete r.input;
  delete r.outputs;
  delete r.seconds;
  delete r.model.path;
  return r;
}

// ---- NIfTI-1 bytes ------------------------------------------------------------------------------

const DATATYPES = { uint8: [2, 8], int16: [4, 16], float32: [16, 32] };

// A single-file NIfTI-1 (.nii, or gzip-compressed): dims [nx, ny, nz], values in HU.
// `header` overrides fields for malformed variants: { dims: [...raw dim[0..7]], datatype, bitpix }.
export function niftiBytes({ dims, type = 'int16', values, spacing = [0.8, 0.8, 2.5], gzip = false, header = {} }) {
  const [code, bits] = DATATYPES[type];
  const n = dims.reduce((a, b) => a * b, 1);
  const h = Buffer.alloc(352);
  h.writeInt32LE(348, 0);
  const dim = header.dims ?? [dims.length, ...dims, 1, 1, 1, 1, 1, 1].slice(0, 8);
  dim.forEach((v, i) => h.writeInt16LE(v, 40 + 2 * i));
  h.writeInt16LE(header.datatype ?? code, 70);
  h.writeInt16LE(header.bitpix ?? bits, 72);
  [1, ...spacing, 0, 0, 0, 0].slice(0, 8).forEach((v, i) => h.writeFloatLE(v, 76 + 4 * i));
  h.writeFloatLE(352, 108);
  h.writeFloatLE(1, 112);
  h.writeUInt8(2, 123);  // xyzt_units: mm
  h.writeInt16LE(1, 254);  // sform_code: scanner
  [[-spacing[0], 0, 0, 0], [0, -spacing[1], 0, 0], [0, 0, spacing[2], 0]].forEach((row, r) =>
    row.forEach((v, c) => h.writeFloatLE(v, 280 + 16 * r + 4 * c)));
  h.write('n+1\0', 344, 'latin1');
  const body = Buffer.alloc((n * bits) / 8);
  for (let i = 0; i < n; ++i) {
    const v = values(i % dims[0], Math.floor(i / dims[0]) % dims[1], Math.floor(i / (dims[0] * dims[1])));
    if (type === 'int16') body.writeInt16LE(Math.round(v), 2 * i);
    else if (type === 'uint8') body.writeUInt8(v, i);
    else body.writeFloatLE(v, 4 * i);
  }
  const bytes = Buffer.concat([h, body]);
  return gzip ? gzipSync(bytes) : bytes;
}

// A chest-like HU phantom: air outside, soft tissue body, two lungs, an opacity in the right lung.
export function chestPhantom(nx, ny) {
  return (x, y, z) => {
    const u = (x + 0.5) / nx - 0.5, v = (y + 0.5) / ny - 0.5;
    if (u * u / 0.2 + v * v / 0.12 > 1) return -1000;
    const inLung = (cx) => (u - cx) ** 2 / 0.02 + v * v / 0.05 < 1;
    if (inLung(-0.2) && (u + 0.2) ** 2 + (v - 0.05 * (z % 3)) ** 2 < 0.004) return -300;
    if (inLung(-0.2) || inLung(0.2)) return -850;
    return 40;
  };
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}
