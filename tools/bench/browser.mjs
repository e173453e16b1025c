// tools/bench/browser.mjs: the viewer's figures in one run on this machine (headless Debian Chromium):
//   cold_start   navigation -> first mask of the demo volume on the wasm EP, fresh browser profile
//                (nothing cached, no service worker yet), and -> whole demo volume;
//   repeat visit the same after a first visit (service worker installed, compiled wasm cached);
//   wasm EP      per-slice latency with 1 and 2 threads (the page's ?threads=N), the demo slice
//                (512² PNG) run --repeats times after one warm-up: ms_per_slice (what the user waits
//                for: core pre/post-processing in wasm included) and session.run alone;
//   WebGPU EP    the same on Chromium's adapter (headless: SwiftShader, a CPU emulation of a GPU, so
//                a correctness path, not a speed figure), --webgpu-repeats times;
//   onnxruntime-node  session.run on the same model.onnx at the model's input size, 2 threads.
// JSON lines on stdout and in build/bench/browser.jsonl. Run on an idle machine.
//   node tools/bench/browser.mjs [--repeats 10] [--cold-runs 5] [--webgpu-repeats 1] [--web build/web]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStaticServer } from '../../tests/e2e/static_server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const REPEATS = Number(args.repeats || 10);
const WEBGPU_REPEATS = Number(args['webgpu-repeats'] || 1);
const WEB = path.resolve(ROOT, args.web || 'build/web');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

const lines = [];
function emit(obj) {
  lines.push(JSON.stringify(obj));
  console.log(lines[lines.length - 1]);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const site = await startStaticServer(WEB);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });

async function freshPage(query) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(site.url + query);
  await page.evaluate(() => window.coronanet.ready);
  return { context, page };
}

emit({ bench: 'machine', cpu: os.cpus()[0].model, cores: os.cpus().length, date: new Date().toISOString(),
       chromium: browser.version(), node: process.version });

// Cold start: a new profile each time (the service worker is not installed on a first visit);
// --cold-runs of them, medians.
{
  const runs = [];
  for (let i = 0; i < Number(args['cold-runs'] || 5); i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(site.url);
    runs.push(await page.evaluate(async () => {
      await window.coronanet.ready;
      await window.coronanet.loadDemo('volume');
      const report = await window.coronanet.run({ backend: 'wasm' });
      return { ...window.coronanet.timings(), wholeVolumeMs: performance.now(), sessionMs: report.session_ms };
    }));
    await context.close();
  }
  emit({ bench: 'viewer_cold_start', backend: 'wasm', runs: runs.length,
         median_ready_ms: median(runs.map((r) => r.navigationToReadyMs)),
         median_first_mask_ms: median(runs.map((r) => r.navigationToFirstMaskMs)),
         max_first_mask_ms: Math.max(...runs.map((r) => r.navigationToFirstMaskMs)),
         median_demo_volume_done_ms: median(runs.map((r) => r.wholeVolumeMs)),
         median_session_ms: median(runs.map((r) => r.sessionMs)), goal_first_mask_ms: 3000 });
}

// Repeat visits: one profile, the first visit installs the service worker (and the browser caches
// compiled wasm); then --cold-runs reloads, each timed from navigation to the first mask.
{
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(site.url);
  await page.evaluate(async () => { await window.coronanet.ready; await navigator.serviceWorker.ready; });
  const runs = [];
  for (let i = 0; i < Number(args['cold-runs'] || 5); i++) {
    await page.reload();
    runs.push(await page.evaluate(async () => {
      await window.coronanet.ready;
      await window.coronanet.loadDemo('volume');
      await window.coronanet.run({ backend: 'wasm' });
      return window.coronanet.timings();
    }));
  }
  await context.close();
  emit({ bench: 'viewer_repeat_visit', backend: 'wasm', runs: runs.length,
         median_ready_ms: median(runs.map((r) => r.navigationToReadyMs)),
         median_first_mask_ms: median(runs.map((r) => r.navigationToFirstMaskMs)),
         max_first_mask_ms: Math.max(...runs.map((r) => r.navigationToFirstMaskMs)), goal_first_mask_ms: 3000 });
}

async function perSlice(backend, threads, repeats) {
  const { context, page } = await freshPage(`?no-sw&threads=${threads}`);
  const r = await page.evaluate(async ({ backend, repeats }) => {
    await window.coronanet.loadDemo('slice32');
    const first = await window.coronanet.run({ backend });  // warm-up (session creation, first run)
    const runs = [];
    for (let i = 0; i < repeats; i++) runs.push(await window.coronanet.run({ backend }));
    return { first, runs: runs.map((x) => [x.ms_per_slice, x.network_ms_per_slice, x.threads, x.core_ms_per_slice, x.report_ms]) };
  }, { backend, repeats });
  await context.close();
  emit({ bench: 'viewer_per_slice', backend, threads: r.runs[0][2], input: '512x512 PNG, model at 256²',
         median_ms: median(r.runs.map((x) => x[0])), median_session_run_ms: median(r.runs.map((x) => x[1])), median_core_ms: median(r.runs.map((x) => x[3])), median_report_ms: median(r.runs.map((x) => x[4])),
         min_ms: Math.min(...r.runs.map((x) => x[0])), repeats: r.runs.length, session_ms: r.first.session_ms });
}

await perSlice('wasm', 1, REPEATS);
await perSlice('wasm', 2, REPEATS);
if (WEBGPU_REPEATS > 0) await perSlice('webgpu', 2, WEBGPU_REPEATS);

// onnxruntime-node on the same file, 256² (the model's input size), 2 threads.
const ort = spawnSync(process.execPath, [path.join(ROOT, 'tools/bench/ort_node.mjs'),
  path.join(WEB, 'models/corona-net/model.onnx'), '256', String(Math.max(REPEATS, 20))], { encoding: 'utf8' });
if (ort.status !== 0) throw new Error(ort.stderr);
for (const line of ort.stdout.trim().split('\n')) emit(JSON.parse(line));

await browser.close();
site.server.close();
fs.mkdirSync(path.join(ROOT, 'build/bench'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'build/bench/browser.jsonl'), lines.join('\n') + '\n');
