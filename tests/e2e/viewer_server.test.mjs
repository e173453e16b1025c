// The viewer served by `coronanet serve` (the product's one URL): the page finds the server, a job
// judged heavy is offered to it (the dialog clicked at C++'s rectangles), and the viewer shows the
// server's result as it came: its report is the server's own JSON (timing, path and device aside,
// plus the viewer's extras), its mask that of the wasm EP and of `coronanet predict` (Dice >= 0.999
// per slice). ?heavy=0 makes every job "heavy" so the offer shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { api, comparable, startServer, tempDir, waitJob } from '../server/harness.mjs';
import {
  ARTIFACTS, CHROMIUM_ARGS, FIXTURES, SHIPPED_MODEL, WEB_DIR, clickWidget, dicePerSlice, predictNative, state,
  waitForRun,
} from './viewer_helpers.mjs';

let browser, page, server, work, ref;
const pageErrors = [];
const DEMO_VOLUME = path.join(FIXTURES, 'medseg/demo_hu.nii.gz');
// What the viewer adds to any report: how it ran (backend, timings, threads, slice count).
const VIEWER_EXTRAS = ['backend', 'ms_per_slice', 'session_ms', 'report_ms', 'threads', 'slices'];

// The server's result for a file, asked for directly (POST /api/v1/segment, then GET .../result).
async function serverResult(file) {
  const posted = await api(server, '/api/v1/segment', {
    method: 'POST', body: fs.readFileSync(file), headers: { 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(posted.status, 202, String(posted.bytes));
  const job = await waitJob(server, posted.json.id);
  assert.equal(job.state, 'done', job.error);
  return (await api(server, `/api/v1/jobs/${posted.json.id}/result`)).json;
}

// A report without the fields that depend on the call (timing, paths, device) or the viewer.
function answerOf(report) {
  const r = comparable(report);
  delete r.model.device;
  for (const key of VIEWER_EXTRAS) delete r[key];
  return r;
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  work = tempDir('viewer-server');
  ref = predictNative(DEMO_VOLUME, SHIPPED_MODEL, work);
  server = await startServer(['--model', SHIPPED_MODEL, '--web', WEB_DIR]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server.url + '/?heavy=0');
  await page.evaluate(() => window.coronanet.ready);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('served by coronanet serve: the app is cross-origin isolated and finds the server', async () => {
  const caps = await page.evaluate(() => window.coronanet.capabilities());
  assert.equal(caps.server, true);
  assert.equal(caps.isolated, true, 'the server sends COOP/COEP with the app');
  assert.equal((await state(page)).model.loaded, true);
});

test('a heavy job is offered to the server; its result equals the browser run and coronanet predict', async () => {
  await page.evaluate(() => window.coronanet.loadDemo('volume'));
  const local = await page.evaluate(() => window.coronanet.run({ backend: 'wasm' }));
  const localMask = await page.evaluate(() => window.coronanet.mask());
  await clickWidget(page, 'run');
  assert.equal((await state(page)).offer_server, true, 'the dialog offers the server');
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-offer-server.png') });
  await clickWidget(page, 'offer_send');
  const s = await waitForRun(page);
  assert.equal(s.run.phase, 'done', s.status);
  assert.equal(s.run.backend, 'server');
  const remote = await page.evaluate(() => window.coronanet.report());
  const remoteMask = await page.evaluate(() => window.coronanet.mask());
  const { nx, ny, nz } = ref.mask;
  for (const [what, other] of [['wasm EP', localMask.data], ['coronanet predict', ref.mask.data]]) {
    const dice = dicePerSlice(remoteMask.data, other, nx, ny, nz);
    console.log(`server vs ${what}: Dice per slice ${dice.map((d) => d.toFixed(5)).join(' ')}`);
    for (const d of dice) assert.ok(d >= 0.999, `server vs ${what}: Dice ${d}`);
  }
  assert.equal(remote.backend, 'server');
  assert.equal(remote.slices, 3);
  assert.deepEqual(answerOf(remote), answerOf(await serverResult(DEMO_VOLUME)), 'the server\'s report, as it came');
  assert.equal(remote.severity_band, local.severity_band);
  // The exported JSON is the same report.
  const exported = await page.evaluate(async () => new TextDecoder().decode((await window.coronanet.exportFile('report_json')).bytes));
  assert.deepEqual(JSON.parse(exported), remote);
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-server-result.png') });
  assert.deepEqual(pageErrors, []);
});

test('/?demo (the link coronanet serve prints) opens the demo and runs the model', async () => {
  const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  await p.goto(server.url + '/?demo');
  await p.waitForFunction(() => window.coronanet.state().run.phase === 'done', null, { timeout: 120_000, polling: 200 });
  const s = await state(p);
  assert.equal(s.slices, 3);
  assert.equal(s.has_prediction, true);
  assert.equal(s.run.backend, 'wasm', 'auto picks the wasm EP on a software-only WebGPU adapter');
  assert.match(server.log, /\?demo opens the demo/);
  await p.screenshot({ path: path.join(ARTIFACTS, 'viewer-served-demo.png') });
  await p.close();
  assert.deepEqual(pageErrors, []);
});
