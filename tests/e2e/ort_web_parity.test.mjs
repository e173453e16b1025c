// ONNX Runtime Web 1.30 in headless Debian Chromium against LibTorch: the committed tiny model
// (tests/fixtures/models/tiny) exported afresh by corona_parity_dump, on the fixture slices.
//   wasm EP: every case (512 x 512 included), fp32 within the node bounds (max |diff| <= 1e-4,
//            argmax >= 99.99 %); the fp16 graph at Dice level.
//   WebGPU EP (Chromium's SwiftShader adapter), both implementations ORT Web ships: fp32 within
//            1e-4 with every node on the WebGPU EP (ORT's verbose placement log); fp16 only where
//            the adapter has shader-f16 (SwiftShader has not: then the refusal is what is tested).
// Needs build/bin/corona_parity_dump (CORONA_BUILD_DIR=... for another build folder;
// CORONA_PARITY_CHECKPOINT=... to check another checkpoint).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStaticServer } from './static_server.mjs';
import { runDump } from '../parity/parity_dump.mjs';
import { FP32_BOUNDS, formatCase } from '../parity/parity_compare.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_DIR = process.env.CORONA_BUILD_DIR || path.join(ROOT, 'build');
// Another checkpoint (e.g. a real training run) instead of the committed tiny one.
const CHECKPOINT = process.env.CORONA_PARITY_CHECKPOINT || path.join(ROOT, 'tests/fixtures/models/tiny/checkpoint.pt');
// The viewer test's flags plus --enable-unsafe-webgpu: with it, headless Chromium offers its
// SwiftShader (CPU Vulkan) WebGPU adapter even under --disable-gpu, on a secure (loopback) origin,
// which is what lets CI test the WebGPU EP without a GPU.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];
// fp16 rounds every activation to 11 bits: compared with fp32 LibTorch only at the level a
// segmentation is judged by.
const FP16_BOUNDS = { argmax: 0.99, meanFgDice: 0.95 };

// The page: loads one ORT bundle, runs every manifest case on one EP, compares in the page with
// the same parity_compare.mjs node uses, returns the figures and ORT's log lines.
const PAGE = `<!doctype html><meta charset="utf-8"><title>ort parity</title>
<script type="module">
import { compareCase } from './parity/parity_compare.mjs';
const logs = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  const orig = console[level].bind(console);
  console[level] = (...a) => { logs.push(a.map(String).join(' ')); orig(...a); };
}
window.runParity = async (bundle, ep, modelKey, bounds, include512) => {
  const ort = await import('./ort/' + bundle);
  ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'verbose';
  const manifest = await (await fetch('./data/manifest.json')).json();
  const f32 = async (file) => new Float32Array(await (await fetch('./data/' + file)).arrayBuffer());
  logs.length = 0;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create('./data/' + manifest.models[modelKey], {
    executionProviders: [ep], logSeverityLevel: 0, logVerbosityLevel: 0,
  });
  const sessionMs = performance.now() - t0;
  const results = [];
  for (const entry of manifest.cases.filter((c) => include512 || c.input.shape[2] !== 512)) {
    const input = new ort.Tensor('float32', await f32(entry.input.file), entry.input.shape);
    const t1 = performance.now();
    const out = await session.run({ input });
    const ms = performance.now() - t1;
    const refs = {}, outputs = {}, shapes = {};
    for (const [name, spec] of Object.entries(entry.outputs)) {
      refs[name] = await f32(spec.file);
      outputs[name] = out[name].data;
      shapes[name] = Array.from(out[name].dims);
    }
    results.push({ ...compareCase(entry, refs, outputs, bounds), ms, shapes,
                   expectedShapes: Object.fromEntries(Object.entries(entry.outputs).map(([k, v]) => [k, v.shape])) });
  }
  const names = { inputs: session.inputNames, outputs: session.outputNames };
  await session.release();
  return { results, names, sessionMs, logs: logs.slice() };
};
window.parityReady = true;
</script>`;

let browser, page, site, siteDir, dumpDir, adapter;
const pageErrors = [];

before(async () => {
  dumpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'corona-ort-web-'));
  runDump({
    tool: path.join(BUILD_DIR, 'bin/corona_parity_dump'),
    checkpoint: CHECKPOINT,
    fixtures: path.join(ROOT, 'tests/fixtures'),
    outDir: dumpDir,
  });
  // Only what the page needs: the ORT bundles, the dump, the comparison module.
  siteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'corona-ort-site-'));
  fs.symlinkSync(path.join(ROOT, 'node_modules/onnxruntime-web/dist'), path.join(siteDir, 'ort'));
  fs.symlinkSync(path.join(ROOT, 'tests/parity'), path.join(siteDir, 'parity'));
  fs.symlinkSync(dumpDir, path.join(siteDir, 'data'));
  fs.writeFileSync(path.join(siteDir, 'index.html'), PAGE);
  site = await startStaticServer(siteDir);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(site.url);
  await page.waitForFunction(() => window.parityReady === true);
  adapter = await page.evaluate(async () => {
    const a = navigator.gpu && (await navigator.gpu.requestAdapter());
    return a ? { vendor: a.info?.vendor, architecture: a.info?.architecture, f16: a.features.has('shader-f16') } : null;
  });
});

after(async () => {
  await browser?.close();
  site?.server.close();
  for (const dir of [siteDir, dumpDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// include512 false: the cases at the model's input size only (WebGPU on SwiftShader needs ~90 s
// for the 512 x 512 case even with the tiny model; the wasm EP runs it in ~0.1 s).
async function runParity(bundle, ep, modelKey, bounds, include512 = true) {
  const r = await page.evaluate((a) => window.runParity(...a), [bundle, ep, modelKey, bounds, include512]);
  console.log(`${bundle} ${ep} ${modelKey} (session ${r.sessionMs.toFixed(0)} ms):`);
  for (const c of r.results) console.log(`  ${formatCase(c)}  (${c.ms.toFixed(0)} ms)`);
  return r;
}

function assertContract(r) {
  assert.deepEqual(r.names.inputs, ['input']);
  assert.deepEqual(r.names.outputs, ['seg_logits', 'cls_logit', 'cam']);
  assert.ok(r.results.length > 0, 'no case ran');
  for (const c of r.results) assert.deepEqual(c.shapes, c.expectedShapes, c.name);
}

function assertWithinBounds(r) {
  const failed = r.results.filter((c) => c.failures.length).map((c) => `${c.name}: ${c.failures.join('; ')}`);
  assert.deepEqual(failed, []);
}

// ORT logs where nodes went at verbose level; a node an EP cannot run lands on the CPU EP, and
// ORT then says so ("Some nodes were not assigned to the preferred execution providers").
function placement(logs) {
  return logs.filter((l) => /placed on|not assigned to the preferred/i.test(l)).map((l) => l.replace(/^.*?\] */, ''));
}

// The two WebGPU implementations ORT Web 1.30 ships: the C++ WebGPU EP compiled to wasm
// (ort.webgpu bundle, "WebGpuExecutionProvider") and the older JavaScript one (JSEP: ort /
// ort.all bundles, "JsExecutionProvider").
const WEBGPU_BUNDLES = { 'ort.webgpu.min.mjs': 'WebGpuExecutionProvider', 'ort.min.mjs': 'JsExecutionProvider' };

test('wasm EP: fp32 graph matches LibTorch within 1e-4 (every case, 512 x 512 included)', async () => {
  const r = await runParity('ort.wasm.min.mjs', 'wasm', 'fp32', FP32_BOUNDS);
  assertContract(r);
  assertWithinBounds(r);
  assert.ok(r.results.some((c) => c.name.endsWith('_s512')));
  assert.deepEqual(pageErrors, []);
});

test('wasm EP: fp16 graph agrees with LibTorch at Dice level', async () => {
  const r = await runParity('ort.wasm.min.mjs', 'wasm', 'fp16', FP16_BOUNDS);
  assertContract(r);
  assertWithinBounds(r);
});

test('a WebGPU adapter is present (SwiftShader in headless Chromium)', async () => {
  console.log(`WebGPU adapter: ${JSON.stringify(adapter)}`);
  assert.ok(adapter, 'no WebGPU adapter: Chromium needs --enable-unsafe-webgpu and a secure (loopback) origin');
});

for (const [bundle, provider] of Object.entries(WEBGPU_BUNDLES)) {
  test(`WebGPU EP (${bundle}): fp32 graph matches LibTorch within 1e-4, every node on ${provider}`, async () => {
    const r = await runParity(bundle, 'webgpu', 'fp32', FP32_BOUNDS, false);
    const lines = placement(r.logs);
    console.log(`  placement: ${lines.join(' | ') || '(nothing logged)'}`);
    assertContract(r);
    assertWithinBounds(r);
    assert.ok(lines.some((l) => l.startsWith(`All nodes placed on [${provider}]`)),
      `expected every node on ${provider}; ORT said: ${lines.join(' | ') || '(nothing)'}`);
  });

  test(`WebGPU EP (${bundle}): fp16 graph agrees with LibTorch at Dice level (needs shader-f16)`, async (t) => {
    if (!adapter?.f16) {
      t.skip('the adapter has no shader-f16 (SwiftShader): fp16 cannot run on WebGPU here');
      return;
    }
    const r = await runParity(bundle, 'webgpu', 'fp16', FP16_BOUNDS, false);
    assertContract(r);
    assertWithinBounds(r);
  });
}

// Without shader-f16 the C++ WebGPU EP refuses the fp16 graph at session creation, so a page can
// catch that and load the fp32 graph. (JSEP, measured with ORT Web 1.30 on SwiftShader, does not
// refuse: it returns wrong logits, max |diff| ~8 and 78 % argmax agreement; a page must check
// adapter.features.has('shader-f16') itself before choosing the fp16 graph.)
test('without shader-f16 the WebGPU EP refuses the fp16 graph instead of computing garbage', async (t) => {
  if (adapter?.f16) {
    t.skip('this adapter has shader-f16');
    return;
  }
  await assert.rejects(runParity('ort.webgpu.min.mjs', 'webgpu', 'fp16', FP16_BOUNDS, false), /f16/);
});
