// tools/bench/server.mjs: the inference server measured as a client sees it (tools/bench/run.sh).
//   node tools/bench/server.mjs [--bin build/bin/coronanet] [--model models/corona-net]
//        [--slice tests/fixtures/medseg/tr_im_0032.png] [--repeats 20] [--clients 16] [--jobs 160]
// 1. latency: one client, POST the slice, poll the job every millisecond until done; 3 warm-up jobs,
//    then the median of --repeats (ms per slice, upload to finished job).
// 2. load: --clients concurrent clients, --jobs jobs in all (POST, poll, GET mask); jobs/s, p50/p99
//    of the per-job time, errors (anything but 202 / done / 200; 503 counts as an error), and the
//    server's RSS (VmRSS) before and after. One JSON line per measurement.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

function parseArgs(argv) {
  const a = { bin: 'build/bin/coronanet', model: 'models/corona-net', slice: 'tests/fixtures/medseg/tr_im_0032.png',
              repeats: '20', clients: '16', jobs: '160' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument '${argv[i]}'`);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  return a;
}

function startServer(args) {
  const proc = spawn(args.bin, ['serve', '--port', '0', '--model', args.model, '--queue-length', '256'],
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One job: upload, poll until finished, fetch the mask. Returns ms, or throws with the reason.
async function runJob(url, bytes) {
  const t0 = performance.now();
  const post = await fetch(`${url}/api/v1/segment`, {
    method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  if (post.status !== 202) throw new Error(`POST ${post.status}`);
  const { id } = await post.json();
  for (;;) {
    const job = await (await fetch(`${url}/api/v1/jobs/${id}`)).json();
    if (job.state === 'done') break;
    if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`job ${job.state}`);
    await sleep(1);
  }
  const mask = await fetch(`${url}/api/v1/jobs/${id}/mask`);
  await mask.arrayBuffer();
  if (mask.status !== 200) throw new Error(`mask ${mask.status}`);
  return performance.now() - t0;
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) / 1024;
}

const args = parseArgs(process.argv.slice(2));
const bytes = readFileSync(args.slice);
const server = await startServer(args);
try {
  for (let i = 0; i < 3; ++i) await runJob(server.url, bytes);
  const ms = [];
  for (let i = 0; i < Number(args.repeats); ++i) ms.push(await runJob(server.url, bytes));
  console.log(JSON.stringify({ bench: 'server_slice_latency', slice: args.slice, median_ms: median(ms),
    min_ms: Math.min(...ms), max_ms: Math.max(...ms), repeats: ms.length }));

  const rssBefore = rssMiB(server.proc.pid);
  const total = Number(args.jobs);
  let next = 0, errors = 0;
  const times = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(args.clients) }, async () => {
    while (next < total) {
      ++next;
      try { times.push(await runJob(server.url, bytes)); } catch { ++errors; }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ bench: 'server_load', clients: Number(args.clients), jobs: total,
    jobs_per_s: times.length / seconds, p50_ms: quantile(times, 0.5), p99_ms: quantile(times, 0.99), errors,
    rss_mib_before: rssBefore, rss_mib_after: rssMiB(server.proc.pid) }));
} finally {
  server.proc.kill('SIGTERM');
}
