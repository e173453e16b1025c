// The viewer (build/web) in headless Debian Chromium: the bundled demo run on the wasm EP and the
// WebGPU EP, compared with `coronanet predict` on the same files (Dice >= 0.999 per slice, same
// areas); ImGui widgets clicked at the rectangles C++ exports; exports; malformed and oversized
// input; a reload with the network off (service worker). Screenshots: build/test-artifacts/viewer-*.png.
// Needs build/web (the wasm build) and build/bin/coronanet (the native build).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startStaticServer } from './static_server.mjs';
import { chestPhantom, exportTinyModel, niftiBytes, tempDir } from '../server/harness.mjs';
import {
  ARTIFACTS, CHROMIUM_ARGS, FIXTURES, SHIPPED_MODEL, clickWidget, decodeGreyPng, dicePerSlice, makeSite,
  predictNative, readNiftiLabels, state, waitForRun,
} from './viewer_helpers.mjs';

const MIN_DICE = 0.999;
let browser, context, page, site, siteDir, work, tinyModel;
const refs = {};
const pageErrors = [];

async function openPage(query = '') {
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  await p.goto(site.url + query);
  await p.evaluate(() => window.coronanet.ready);
  return p;
}

function assertMasksAgree(browserMask, native, what) {
  const { nx, ny, nz } = native;
  assert.deepEqual(browserMask.shape, [nz, ny, nx], `${what}: mask shape`);
  const dice = dicePerSlice(browserMask.data, native.data, nx, ny, nz);
  console.log(`${what}: Dice per slice vs coronanet predict ${dice.map((d) => d.toFixed(5)).join(' ')}`);
  for (const d of dice) assert.ok(d >= MIN_DICE, `${what}: Dice ${d} < ${MIN_DICE}`);
}

function assertReportsAgree(browserReport, nativeReport, what) {
  for (const key of ['kind', 'severity_band']) assert.equal(browserReport[key], nativeReport[key], `${what}: ${key}`);
  for (let c = 0; c < nativeReport.classes.length; c++) {
    const a = browserReport.classes[c].px, b = nativeReport.classes[c].px;
    assert.ok(Math.abs(a - b) <= Math.max(2, 0.001 * b), `${what}: class ${c} area ${a} px vs ${b} px`);
  }
  assert.ok(Math.abs(browserReport.infected_probability - nativeReport.infected_probability) < 1e-3,
            `${what}: P(infected) ${browserReport.infected_probability} vs ${nativeReport.infected_probability}`);
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  work = tempDir('viewer');
  tinyModel = exportTinyModel(work);
  const demoVolume = path.join(FIXTURES, 'medseg/demo_hu.nii.gz');
  refs.volume = predictNative(demoVolume, SHIPPED_MODEL, path.join(work, 'shipped'));
  refs.slice = predictNative(path.join(FIXTURES, 'medseg/tr_im_0032.png'), SHIPPED_MODEL, path.join(work, 'shipped'));
  refs.tinyVolume = predictNative(demoVolume, tinyModel, path.join(work, 'tiny'));
  siteDir = makeSite({ tiny: tinyModel });
  site = await startStaticServer(siteDir);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await openPage();
});

after(async () => {
  await browser?.close();
  site?.server.close();
  if (siteDir) fs.rmSync(siteDir, { recursive: true, force: true });
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the viewer starts: research-use banner, model and card loaded, no page errors', async () => {
  assert.match(await page.textContent('#banner'), /not a diagnostic device/);
  const s = await state(page);
  assert.equal(s.error, false, s.status);
  assert.equal(s.model.loaded, true);
  assert.equal(s.model.name, 'corona-net');
  assert.equal(s.model.input_size, 256);
  const caps = await page.evaluate(() => window.coronanet.capabilities());
  assert.equal(caps.isolated, true, 'COOP/COEP served: the page is cross-origin isolated (wasm threads)');
  assert.equal(caps.webgpu, true, 'Chromium with --enable-unsafe-webgpu offers an adapter');
  assert.deepEqual(pageErrors, []);
});

test('demo volume (HU NIfTI) on the wasm EP: masks and report equal coronanet predict', async () => {
  const loaded = await page.evaluate(() => window.coronanet.loadDemo('volume'));
  assert.equal(loaded.error, false, loaded.status);
  assert.deepEqual([loaded.width, loaded.height, loaded.slices], [512, 512, 3]);
  assert.equal(loaded.has_labels, true);
  const report = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
  assert.equal(report.backend, 'wasm');
  assert.ok(report.ms_per_slice > 0);
  assert.equal(report.slices, 3);
  assert.deepEqual(report.dims, [512, 512, 3]);
  assertMasksAgree(await page.evaluate(() => window.coronanet.mask()), refs.volume.mask, 'wasm EP, demo volume');
  assertReportsAgree(report, refs.volume.report, 'wasm EP, demo volume');
  await page.evaluate(() => window.coronanet.setSlice(1));
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-volume-wasm.png') });
});

test('demo slice (PNG) on the wasm EP: mask equals coronanet predict', async () => {
  const loaded = await page.evaluate(() => window.coronanet.loadDemo('slice32'));
  assert.equal(loaded.slices, 1);
  const report = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
  assert.equal(report.kind, 'slice');
  const browserMask = await page.evaluate(() => window.coronanet.mask());
  const native = await decodeGreyPng(page, refs.slice.maskPng);
  assertMasksAgree(browserMask, { data: native, nx: 512, ny: 512, nz: 1 }, 'wasm EP, slice 32');
  assertReportsAgree(report, refs.slice.report, 'wasm EP, slice 32');
});

test('an image without lungs: no percentage and no severity band, in the browser as in predict', async () => {
  // A committed 64x48 gradient JPEG: not a chest slice, so the classic lung mask finds no lung.
  const file = path.join(FIXTURES, 'images/gradient_64x48_q95.jpg');
  const native = predictNative(file, SHIPPED_MODEL, path.join(work, 'no-lung')).report;
  assert.equal(native.severity_band, null);
  const loaded = await page.evaluate((b) => window.coronanet.loadFile('gradient.jpg', new Uint8Array(b)),
                                     Array.from(fs.readFileSync(file)));
  assert.equal(loaded.error, false, loaded.status);
  const report = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
  assert.equal(report.severity_band, null);
  assert.equal(report.severity_note, native.severity_note);
  assert.deepEqual(report.lungs.total, native.lungs.total);
  assert.equal(report.lungs.lesion_px_without_lung, native.lungs.lesion_px_without_lung);
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-no-lung.png') });
});

test('WebGPU EP (SwiftShader adapter, tiny model): masks equal coronanet predict', async () => {
  // The shipped model takes minutes per slice on a software adapter: the tiny test model checks the
  // same path (session, worker, core post-processing) in seconds.
  const p = await openPage('?model=models/tiny/');
  const s = await state(p);
  assert.equal(s.model.loaded, true, s.status);
  assert.equal(s.model.input_size, 64);
  await p.evaluate(() => window.coronanet.loadDemo('volume'));
  const report = await p.evaluate(() => window.coronanet.run({ backend: 'webgpu' }));
  assert.equal(report.backend, 'webgpu');
  assertMasksAgree(await p.evaluate(() => window.coronanet.mask()), refs.tinyVolume.mask, 'WebGPU EP, tiny model');
  assertReportsAgree(report, refs.tinyVolume.report, 'WebGPU EP, tiny model');
  await p.screenshot({ path: path.join(ARTIFACTS, 'viewer-volume-webgpu-tiny.png') });
  await p.close();
});

test('the UI works by clicks at the rectangles C++ exports', async () => {
  await page.bringToFront();
  await clickWidget(page, 'load_demo');
  await page.waitForFunction(() => window.coronanet.state().slices === 3 && window.coronanet.state().has_labels);
  await clickWidget(page, 'overlay_reference');
  assert.equal((await state(page)).overlay, 'reference');
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-reference.png') });
  await clickWidget(page, 'overlay_prediction');
  assert.equal((await state(page)).overlay, 'prediction');
  await clickWidget(page, 'run');  // "auto" on a software-only WebGPU adapter runs the wasm EP
  let s = await waitForRun(page);
  assert.equal(s.run.phase, 'done', s.status);
  assert.equal(s.run.backend, 'wasm');
  assert.equal(s.has_prediction, true);
  // Slices from the keyboard and the wheel, with the pointer over the image.
  await page.evaluate(() => window.coronanet.setSlice(1));
  await clickWidget(page, 'image');
  const key = async (k) => {  // held over a frame or two: ImGui 1.86 polls key state per frame
    await page.keyboard.down(k);
    await page.waitForTimeout(80);
    await page.keyboard.up(k);
    await page.waitForTimeout(80);
  };
  await key('ArrowDown');
  assert.equal((await state(page)).slice, 2, 'Down: next slice');
  await page.mouse.wheel(0, -100);  // wheel up: previous slice
  await page.waitForTimeout(150);
  assert.equal((await state(page)).slice, 1, 'wheel up: previous slice');
  await page.mouse.wheel(0, 100);  // wheel down: next slice
  await page.waitForTimeout(150);
  assert.equal((await state(page)).slice, 2, 'wheel down: next slice');
  await key('ArrowUp');
  assert.equal((await state(page)).slice, 1, 'Up: previous slice');
  await clickWidget(page, 'preset_mediastinum');
  s = await state(page);
  assert.deepEqual([s.window.center, s.window.width], [40, 400]);
  await clickWidget(page, 'preset_lung');
  await clickWidget(page, 'overlay_cam');
  assert.equal((await state(page)).overlay, 'cam');
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-cam.png') });
  await clickWidget(page, 'overlay_prediction');
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-ui-run.png') });
  await clickWidget(page, 'model_card');  // the card's metrics table and training curves
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-model-card.png') });
  await clickWidget(page, 'model_card');
  assert.deepEqual(pageErrors, []);
});

test('exports: NIfTI mask in the input geometry, PNG, JSON and CSV reports', async () => {
  const files = await page.evaluate(async () => {
    const out = [];
    for (const kind of ['mask_nifti', 'mask_png', 'report_json', 'report_csv']) {
      const f = await window.coronanet.exportFile(kind);
      out.push({ name: f.name, bytes: Array.from(f.bytes) });
    }
    const m = window.coronanet.mask();
    return { out, mask: { shape: m.shape, data: Array.from(m.data) } };
  });
  const [nifti, png, json, csv] = files.out;
  assert.equal(nifti.name, 'mask.nii.gz');
  const labels = readNiftiLabels(Buffer.from(nifti.bytes));
  assert.deepEqual([labels.nx, labels.ny, labels.nz], [512, 512, 3]);
  assert.deepEqual(Array.from(labels.data), files.mask.data, 'the NIfTI holds exactly mask()');
  assert.deepEqual(Array.from(png.bytes.slice(1, 4)), [0x50, 0x4e, 0x47], 'PNG magic');
  const report = JSON.parse(Buffer.from(json.bytes).toString('utf8'));
  assert.equal(report.kind, 'volume');
  assert.match(report.note, /not a diagnostic device/);
  const csvText = Buffer.from(csv.bytes).toString('utf8');
  assert.match(csvText, /^section,name,px,mm2,percent_involved,severity_band\n/);
  assert.match(csvText, new RegExp(`class,ggo,${report.classes[1].px},`));
  // Kinds and roles cross the bridge by name: an unknown one is refused with a message.
  await assert.rejects(page.evaluate(() => window.coronanet.exportFile(2)), /unknown export 2/);
  const s = await page.evaluate(() => window.coronanet.loadFile('x.png', new Uint8Array([1]), 'labels'));
  assert.equal(s.error, true);
  assert.match(s.status, /unknown file role "labels" \(one of image, reference, prediction\)/);
});

test('bad input: a clear message, the open image stays, the viewer keeps working', async () => {
  const before = await state(page);
  const truncatedPng = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
  let s = await page.evaluate((b) => window.coronanet.loadFile('broken.png', new Uint8Array(b)), truncatedPng);
  assert.equal(s.error, true);
  assert.match(s.status, /broken\.png/);
  assert.equal(s.slices, before.slices, 'the previous image stays open');
  // A NIfTI header whose float volume (2048 x 2048 x 200) is beyond the browser's memory budget.
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  [3, 2048, 2048, 200, 1, 1, 1, 1].forEach((d, i) => header.writeInt16LE(d, 40 + 2 * i));
  header.writeInt16LE(4, 70);   // int16
  header.writeInt16LE(16, 72);  // bitpix
  [1, 1, 1, 1].forEach((v, i) => header.writeFloatLE(v, 76 + 4 * i));
  header.writeFloatLE(352, 108);
  header.write('n+1\0', 344, 'latin1');
  s = await page.evaluate((b) => window.coronanet.loadFile('huge.nii', new Uint8Array(b)), Array.from(header));
  assert.equal(s.error, true);
  assert.match(s.status, /huge\.nii: .*512 MiB/);
  // Dropped on the page like a user would: a text file.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => /notes\.txt/.test(window.coronanet.state().status));
  s = await state(page);
  assert.equal(s.error, true);
  assert.match(s.status, /not a NIfTI \(\.nii\/\.nii\.gz\), PNG or JPEG file/);
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-bad-input.png') });
  // Still works: a run on the image that stayed open.
  const report = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
  assert.equal(report.slices, before.slices);
  assert.deepEqual(pageErrors, []);
});

test('a volume run shows progress and can be cancelled; the viewer then runs again', async () => {
  // 40 slices (~10 s on the wasm EP): long enough that the cancel always lands mid-run, however
  // slowly a loaded machine answers the test's calls.
  const phantom = niftiBytes({ dims: [128, 128, 40], values: chestPhantom(128, 128) });
  const opened = await page.evaluate((b) => window.coronanet.loadFile('phantom40.nii', new Uint8Array(b)),
                                     Array.from(phantom));
  assert.equal(opened.slices, 40, opened.status);
  const outcome = page.evaluate(() => window.coronanet.run({ backend: 'wasm' }).then(() => 'finished', (e) => String(e)));
  await page.waitForFunction(() => window.coronanet.state().run.phase === 'running', null, { polling: 10 });
  const running = await state(page);
  assert.equal(running.run.total, 40);
  await page.evaluate(() => window.coronanet.cancel());
  assert.match(await outcome, /cancelled by the user/);
  const s = await state(page);
  assert.equal(s.run.phase, 'cancelled');
  assert.equal(s.has_prediction, false, 'a partial mask is not kept');
  assert.equal(await page.evaluate(() => window.coronanet.mask()), null);
  await page.evaluate(() => window.coronanet.loadDemo('volume'));
  const report = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
  assert.equal(report.slices, 3);
});

test('from a plain static host (no COOP/COEP): single-threaded wasm EP, same masks', async () => {
  const plain = await startStaticServer(siteDir, { isolate: false });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const p = await ctx.newPage();
    p.on('pageerror', (e) => pageErrors.push(String(e)));
    await p.goto(plain.url + '?no-sw');
    await p.evaluate(() => window.coronanet.ready);
    const caps = await p.evaluate(() => window.coronanet.capabilities());
    assert.equal(caps.isolated, false);
    assert.equal(caps.server, false, 'no server behind a static host');
    await p.evaluate(() => window.coronanet.loadDemo('volume'));
    const report = await p.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
    assert.equal(report.threads, 1);
    assertMasksAgree(await p.evaluate(() => window.coronanet.mask()), refs.volume.mask, 'static host, wasm EP');
    await assert.rejects(p.evaluate(() => window.coronanet.run({ backend: 'server' })), /not reachable/);
    assert.equal((await state(p)).has_prediction, true, 'a refused run leaves the last prediction');
  } finally {
    await ctx.close();
    plain.server.close();
  }
});

test('offline: after the first visit the demo loads and runs with the network off', async () => {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  try {
    await page.reload();
    await page.evaluate(() => window.coronanet.ready);
    const s = await state(page);
    assert.equal(s.model.loaded, true, s.status);
    await page.evaluate(() => window.coronanet.loadDemo('volume'));
    const report = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
    assertMasksAgree(await page.evaluate(() => window.coronanet.mask()), refs.volume.mask, 'offline, wasm EP');
    assert.equal(report.backend, 'wasm');
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-offline.png') });
  } finally {
    await context.setOffline(false);
  }
});
