// Browser smoke test of the web app in build/web: headless Debian Chromium loads the page, the
// wasm viewer starts, the demo opens with its labels, a malformed file gives a message and the
// viewer keeps working. Screenshots go to build/test-artifacts/ (look at them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStaticServer } from './static_server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WEB_DIR = process.env.CORONA_WEB_DIR || path.join(ROOT, 'build/web');
const ARTIFACTS = path.join(ROOT, 'build/test-artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser, page, site;
const consoleErrors = [];

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  site = await startStaticServer(WEB_DIR);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(site.url);
  await page.evaluate(() => window.coronanet.ready);
});

after(async () => {
  await browser?.close();
  site?.server.close();
});

test('the viewer starts with the research-use banner and no page errors', async () => {
  const banner = await page.textContent('#banner');
  assert.match(banner, /not a diagnostic device/);
  const state = await page.evaluate(() => window.coronanet.state());
  assert.equal(state.error, false);
  assert.equal(state.slices, 0);
  assert.deepEqual(consoleErrors, []);
});

test('the demo opens a real 512x512 MedSeg slice with its labels', async () => {
  const state = await page.evaluate(() => window.coronanet.loadDemo());
  assert.equal(state.error, false, state.status);
  assert.equal(state.width, 512);
  assert.equal(state.height, 512);
  assert.equal(state.has_labels, true);
  await page.waitForTimeout(300);  // a few frames for the texture
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-demo.png') });
});

test('a malformed file gives a message and the viewer keeps its image', async () => {
  const bytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];  // truncated PNG
  const state = await page.evaluate((b) => window.coronanet.loadFile('broken.png', new Uint8Array(b)), bytes);
  assert.equal(state.error, true);
  assert.match(state.status, /broken\.png/);
  assert.equal(state.width, 512, 'the previous image stays open');
  const notImage = await page.evaluate(() => window.coronanet.loadFile('notes.txt', new TextEncoder().encode('hello')));
  assert.equal(notImage.error, true);
  assert.match(notImage.status, /not a NIfTI \(\.nii\/\.nii\.gz\), PNG or JPEG file \(format not recognised\)/);
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-bad-input.png') });
  assert.deepEqual(consoleErrors, []);
});
