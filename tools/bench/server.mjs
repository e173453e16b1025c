// tools/bench/server.mjs: the inference server under load on loopback, as clients see it (tools/bench/run.sh).
//   node tools/bench/server.mjs [--bin build/bin/coronanet] [--model models/corona-net]
//        [--slice tests/fixtures/medseg/tr_im_0032.png] [--clients 16] [--jobs 160] [--threads 0]
//        [--http-threads (server default)]
// --clients concurrent clients run --jobs jobs in all; each job is what tools/bench/latency.mjs's
// server contestant does (as the web app does): POST the slice, long-poll GET
// /api/v1/jobs/{id}?wait=500 until it is done, GET its report and mask PNG in parallel. Prints one
// JSON line: jobs/s, p50/p99 of the per-job time (upload to mask and report received), errors (anything but 202 / done / 200; a 503 counts as an error), and the server's
// resident memory (VmRSS) before the run (after 3 warm-up jobs) and after it, and its peak (VmHWM).
// Per-slice latency of one client is tools/bench/latency.mjs (interleaved with LibTorch and ORT).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { serverJob } from './latency.mjs';

function parseArgs(argv) {
  const a = { bin: 'build/bin/coronanet', model: 'models/corona-net', slice: 'tests/fixtures/medseg/tr_im_0032.png',
              clients: '16', jobs: '160', threads: '0', 'http-threads': '' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length || !(argv[i].slice(2) in a))
      throw new Error(`bad argument '${argv[i]}'`);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  return a;
}

function startServer(args) {
  const extra = args['http-threads'] ? ['--http-threads', args['http-threads']] : [];
  const proc = spawn(args.bin, ['serve', '--port', '0', '--model', args.model, '--threads', args.threads,
                                '--queue-length', String(Number(args.jobs) + 16), ...extra],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d.toString();
      const m = text.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) resolve({ proc, url: m[1] });
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${text}`)));
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

function memMiB(pid, field) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))[1]) / 1024;
}

const args = parseArgs(process.argv.slice(2));
const bytes = readFileSync(args.slice);
const server = await startServer(args);
try {
  for (let i = 0; i < 3; ++i) await serverJob(server.url, bytes);
  const rssBefore = memMiB(server.proc.pid, 'VmRSS');
  const total = Number(args.jobs);
  let next = 0, errors = 0;
  const times = [], reasons = {};
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(args.clients) }, async () => {
    while (next < total) {
      ++next;
      const t = performance.now();
      try {
        await serverJob(server.url, bytes);
        times.push(performance.now() - t);
      } catch (e) {
        ++errors;
        const why = e.cause ? `${e.message}: ${e.cause.code || e.cause.message}` : e.message;
        reasons[why] = (reasons[why] || 0) + 1;
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ bench: 'server_load', slice: args.slice, clients: Number(args.clients), jobs: total,
    seconds, jobs_per_s: times.length / seconds, p50_ms: quantile(times, 0.5), p99_ms: quantile(times, 0.99),
    max_ms: times[times.length - 1], errors, ...(errors ? { error_reasons: reasons } : {}),
    rss_mib_before: rssBefore, rss_mib_after: memMiB(server.proc.pid, 'VmRSS'),
    rss_mib_peak: memMiB(server.proc.pid, 'VmHWM') }));
} finally {
  server.proc.kill('SIGTERM');
}
