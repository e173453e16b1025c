// tools/bench/latency.mjs: one 512² slice end to end (PNG bytes -> label map at the slice's size)
// by three contestants, INTERLEAVED in one run so background load hits them alike (tools/bench/run.sh):
//   libtorch  Predictor::predict_slice in process: a `corona_bench slice-worker` child; the time is
//             measured inside the child (PNG decode, model_input_from_u8, forward, softmax, bilinear
//             resize back, argmax, lesion probability, CAM), not the pipe round trip;
//   ort       onnxruntime-node on the exported model.onnx in this process, with the same steps in JS:
//             PNG decode, resize to plans.json's size + normalise, session.run, softmax, bilinear
//             resize of each class back to 512², argmax, lesion probability, sigmoid + CAM;
//   server    `coronanet serve` through HTTP on loopback with the web app's protocol: POST
//             /api/v1/segment, then at once GET .../result?wait=60000 (the JSON report) and
//             .../mask?wait=60000 (PNG, encoded on that request), long polls that answer when the job
//             finishes, and GET /api/v1/jobs/{id}?wait=500 (the app's progress poll) beside them;
//             the clock stops when the report and the mask have arrived. So the server's figure
//             also holds its report (classic lung mask, severity, areas: work the other two do not
//             do); the overlay PNG is not asked for and so not made. Two clients, same server
//             process, both in the run: `server` uses node:http with a keep-alive agent (a lean
//             client: what the server itself costs), `server_fetch` uses fetch (undici), as the web
//             app's code does; undici adds ~1.5 ms of client-side JS per request on this VM.
// Each repetition runs the three once, in a rotating order, with --gap-ms between them (spinning
// thread pools park). Prints one JSON line per contestant (median, p90, min, max) and a summary
// with the ratio server / min(libtorch, ort) of the medians; checks that the label maps agree.
//   node tools/bench/latency.mjs [--model models/corona-net] [--slice tests/fixtures/medseg/tr_im_0032.png]
//        [--repeats 30] [--warmup 3] [--gap-ms 30] [--threads N (default: all cores)]
//        [--coronanet build/bin/coronanet] [--bench build/bin/corona_bench]
//        [--only libtorch,ort,server,server_fetch]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { inflateSync } from 'node:zlib';
import ort from 'onnxruntime-node';

function parseArgs(argv) {
  const a = { model: 'models/corona-net', slice: 'tests/fixtures/medseg/tr_im_0032.png', repeats: '30',
              warmup: '3', 'gap-ms': '30', threads: '0', coronanet: 'build/bin/coronanet',
              bench: 'build/bin/corona_bench', only: 'libtorch,ort,server,server_fetch' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length || !(argv[i].slice(2) in a))
      throw new Error(`bad argument '${argv[i]}'`);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const f32 = Math.fround;

// ---- PNG (8-bit grayscale, not interlaced: the fixtures and the server's masks) -----------------
export function decodeGrayPng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8, width = 0, height = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 0 || data[12] !== 0) throw new Error('PNG is not 8-bit gray, non-interlaced');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; ++y) {
    const f = raw[y * (width + 1)], row = raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1));
    const o = y * width;
    for (let x = 0; x < width; ++x) {
      const a = x > 0 ? out[o + x - 1] : 0, b = y > 0 ? out[o - width + x] : 0;
      const c = x > 0 && y > 0 ? out[o - width + x - 1] : 0;
      let p;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: { const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
                  p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c; break; }
        default: throw new Error(`PNG filter ${f}`);
      }
      out[o + x] = (row[x] + p) & 255;
    }
  }
  return { width, height, pixels: out };
}

// ---- the core's preprocessing and post-processing, in float32 as shared/src does them -----------
function linearTaps(inSize, outSize) {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize), w1 = new Float32Array(outSize);
  for (let d = 0; d < outSize; ++d) {
    let src = f32(f32(scale * f32(d + 0.5)) - 0.5);
    if (src < 0) src = 0;
    i0[d] = Math.min(Math.trunc(src), inSize - 1);
    i1[d] = i0[d] + (i0[d] < inSize - 1 ? 1 : 0);
    w1[d] = f32(src - i0[d]);
    w0[d] = f32(1 - w1[d]);
  }
  return { i0, i1, w0, w1 };
}

// resize_bilinear (half-pixel centres, PyTorch's order: rows horizontally, then vertically), in
// float32 steps like the C++.
function resizeBilinear(src, w, h, W, H, out = new Float32Array(W * H), outOffset = 0) {
  const tx = linearTaps(w, W), ty = linearTaps(h, H);
  for (let y = 0; y < H; ++y) {
    const r0 = ty.i0[y] * w, r1 = ty.i1[y] * w, v0 = ty.w0[y], v1 = ty.w1[y], o = outOffset + y * W;
    for (let x = 0; x < W; ++x) {
      const a = tx.i0[x], b = tx.i1[x], h0 = tx.w0[x], h1 = tx.w1[x];
      const top = f32(f32(h0 * src[r0 + a]) + f32(h1 * src[r0 + b]));
      const bottom = f32(f32(h0 * src[r1 + a]) + f32(h1 * src[r1 + b]));
      out[o + x] = f32(v0 * top) + f32(v1 * bottom);  // stored as float32 by the array
    }
  }
  return out;
}

// Returns the label map and the other outputs; `stages` gets ms per step added.
async function ortPredict(session, plans, png, stages) {
  let t = performance.now();
  const lap = (name) => { const n = performance.now(); stages[name] = (stages[name] || 0) + n - t; t = n; };
  const img = decodeGrayPng(png);
  lap('decode');
  const s = plans.size, { mean, std, max } = plans;
  const input = resizeBilinear(Float32Array.from(img.pixels), img.width, img.height, s, s);
  for (let i = 0; i < input.length; ++i) input[i] = f32(f32(input[i] / max) - mean) / std;
  lap('preprocess');
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 1, s, s]) });
  lap('forward');
  const logits = out.seg_logits.data, nc = out.seg_logits.dims[1], plane = s * s;
  // softmax over classes at the network's size (double sums, as the core does)
  const prob = new Float32Array(nc * plane);
  const e = new Float64Array(nc);
  for (let p = 0; p < plane; ++p) {
    let mx = -Infinity;
    for (let c = 0; c < nc; ++c) mx = Math.max(mx, logits[c * plane + p]);
    let sum = 0;
    for (let c = 0; c < nc; ++c) sum += (e[c] = Math.exp(logits[c * plane + p] - mx));
    for (let c = 0; c < nc; ++c) prob[c * plane + p] = e[c] / sum;
  }
  const W = img.width, H = img.height, P = W * H;
  const up = new Float32Array(nc * P);
  for (let c = 0; c < nc; ++c) resizeBilinear(prob.subarray(c * plane, (c + 1) * plane), s, s, W, H, up, c * P);
  const labels = new Uint8Array(P), lesion = new Float32Array(P);
  for (let p = 0; p < P; ++p) {
    let best = 0, bv = up[p];
    for (let c = 1; c < nc; ++c) if (up[c * P + p] > bv) { best = c; bv = up[c * P + p]; }
    labels[p] = best;
    lesion[p] = 1 - up[p];
  }
  // classification head: sigmoid of the logit; CAM = ReLU, bilinear to the slice, min-max
  const infected = 1 / (1 + Math.exp(-out.cls_logit.data[0]));
  const [, , ch, cw] = out.cam.dims;
  const camSmall = Float32Array.from(out.cam.data, (v) => Math.max(0, v));
  const cam = resizeBilinear(camSmall, cw, ch, W, H);
  let lo = Infinity, hi = -Infinity;
  for (let p = 0; p < P; ++p) { lo = Math.min(lo, cam[p]); hi = Math.max(hi, cam[p]); }
  const range = hi - lo;
  for (let p = 0; p < P; ++p) cam[p] = range > 1e-12 ? (cam[p] - lo) / range : 0;
  lap('postprocess');
  return { labels, width: W, height: H, infected, lesion, cam };
}

export function fnv1a(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString();
}

// ---- contestants ------------------------------------------------------------------------------
function lineReader(stream) {
  const rl = createInterface({ input: stream });
  const queue = [], waiters = [];
  rl.on('line', (l) => (waiters.length ? waiters.shift()(l) : queue.push(l)));
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
}

async function startLibtorch(args) {
  const proc = spawn(args.bench, ['slice-worker', '--model', args.model, '--slice', args.slice, '--threads', args.threads],
                     { stdio: ['pipe', 'pipe', 'inherit'] });
  const next = lineReader(proc.stdout);
  const ready = JSON.parse(await next());
  return {
    name: 'libtorch', threads: ready.threads, proc,
    async run() {
      proc.stdin.write('run\n');
      const r = JSON.parse(await next());
      if (r.error) throw new Error(`libtorch: ${r.error}`);
      return { ms: r.ms, fnv: r.labels_fnv };
    },
    stop() { proc.stdin.end(); },
  };
}

async function startOrt(args, plansJson) {
  const threads = Number(args.threads) || (os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  const session = await ort.InferenceSession.create(`${args.model}/model.onnx`,
    { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const n = plansJson.input.normalisation;
  const plans = { size: plansJson.input.size[0], mean: n.mean, std: n.std, max: n.max };
  const png = readFileSync(args.slice);
  const stages = {};
  return {
    name: 'ort', threads, ort_version: ort.env.versions?.common ?? 'unknown', stages,
    async run(timed) {
      const t0 = performance.now();
      const r = await ortPredict(session, plans, png, timed ? stages : {});
      return { ms: performance.now() - t0, fnv: fnv1a(r.labels) };
    },
    stop() {},
  };
}

// One `coronanet serve` process, shared by the two server contestants (started on first use).
let serverProcess = null;
async function serverUrl(args) {
  if (!serverProcess) serverProcess = startServerProcess(args);
  return (await serverProcess).url;
}

async function startServerProcess(args) {
  const proc = spawn(args.coronanet, ['serve', '--port', '0', '--model', args.model, '--threads', args.threads],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d.toString();
      const m = text.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) resolve(m[1]);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${text}`)));
  });
  return { url, proc };
}

// client: 'http' (node:http, keep-alive) or 'fetch' (undici, as the web app).
async function startServer(args, client) {
  const url = await serverUrl(args);
  const png = readFileSync(args.slice);
  const agent = client === 'http' ? new http.Agent({ keepAlive: true, maxSockets: 4 }) : null;
  return {
    name: client === 'http' ? 'server' : 'server_fetch', url, client,
    async run() {
      const t0 = performance.now();
      const mask = agent ? await serverJobHttp(url, png, agent) : await serverJob(url, png);
      const ms = performance.now() - t0;  // the mask's bytes have arrived; decoding them is the check's
      return { ms, fnv: fnv1a(decodeGrayPng(mask).pixels) };
    },
    stop() {
      agent?.destroy();
      serverProcess?.then((p) => p.proc.kill('SIGTERM'));
      serverProcess = null;
    },
  };
}

// One job as the web app's server backend does it (web/coronanet-page.js): upload; then the report
// and the mask with ?wait (long polls answered when the job finishes) and, beside them, the job's
// state with ?wait=500 as the app polls it for progress. Returns the mask's bytes. `get(path)`
// resolves to {status, body: Buffer}; `post(path, bytes)` likewise.
async function runJob(get, post, bytes) {
  const posted = await post('/api/v1/segment', bytes);
  if (posted.status !== 202) throw new Error(`POST ${posted.status}`);
  const { id } = JSON.parse(posted.body);
  const outputs = Promise.all([get(`/api/v1/jobs/${id}/result?wait=60000`), get(`/api/v1/jobs/${id}/mask?wait=60000`)]);
  for (;;) {
    const res = await get(`/api/v1/jobs/${id}?wait=500`);
    if (res.status !== 200) throw new Error(`GET job ${res.status}`);
    const job = JSON.parse(res.body);
    if (job.state === 'done') break;
    if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`job ${job.state}`);
  }
  const [result, mask] = await outputs;
  if (result.status !== 200 || !JSON.parse(result.body).kind) throw new Error(`result ${result.status}`);
  if (mask.status !== 200) throw new Error(`mask ${mask.status}`);
  return mask.body;
}

// Through fetch (undici), as the browser's app does.
export function serverJob(url, bytes) {
  const wrap = async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) });
  return runJob((path) => fetch(url + path).then(wrap),
                (path, body) => fetch(url + path, { method: 'POST', body,
                                                    headers: { 'Content-Type': 'application/octet-stream' } }).then(wrap),
                bytes);
}

// Through node:http with a keep-alive agent.
function httpRequest(url, agent, method, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { 'Content-Type': 'application/octet-stream',
                                                                  'Content-Length': body.length } : {} },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
    req.on('error', reject);
    req.end(body);
  });
}

export function serverJobHttp(url, bytes, agent) {
  return runJob((path) => httpRequest(url + path, agent, 'GET'),
                (path, body) => httpRequest(url + path, agent, 'POST', body), bytes);
}

function quantile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}
function summary(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return { median_ms: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, p90_ms: quantile(s, 0.9),
           min_ms: s[0], max_ms: s[s.length - 1], repeats: s.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const plansJson = JSON.parse(readFileSync(`${args.model}/plans.json`, 'utf8'));
  const wanted = args.only.split(',');
  const starters = { libtorch: () => startLibtorch(args), ort: () => startOrt(args, plansJson),
                     server: () => startServer(args, 'http'), server_fetch: () => startServer(args, 'fetch') };
  const contestants = [];
  try {
    for (const w of wanted) contestants.push(await starters[w]());
    const ms = Object.fromEntries(contestants.map((c) => [c.name, []]));
    const fnvs = Object.fromEntries(contestants.map((c) => [c.name, new Set()]));
    const warm = Number(args.warmup), reps = Number(args.repeats), gap = Number(args['gap-ms']);
    for (let r = -warm; r < reps; ++r) {
      for (let k = 0; k < contestants.length; ++k) {
        const c = contestants[(k + r + warm) % contestants.length];  // rotating order
        await sleep(gap);
        const res = await c.run(r >= 0);
        fnvs[c.name].add(res.fnv);
        if (r >= 0) ms[c.name].push(res.ms);
      }
    }
    const medians = {};
    for (const c of contestants) {
      const s = summary(ms[c.name]);
      medians[c.name] = s.median_ms;
      const mean_stage_ms = c.stages &&
        Object.fromEntries(Object.entries(c.stages).map(([k, v]) => [k, v / ms[c.name].length]));
      console.log(JSON.stringify({ bench: 'slice_latency_512', contestant: c.name, ...s,
        ...(c.threads ? { threads: c.threads } : {}), ...(c.ort_version ? { ort_version: c.ort_version } : {}),
        ...(mean_stage_ms ? { mean_stage_ms } : {}),
        labels_fnv: [...fnvs[c.name]] }));
    }
    const all = new Set(Object.values(fnvs).flatMap((s) => [...s]));
    const out = { bench: 'slice_latency_512_summary', slice: args.slice, model: args.model,
                  interleaved: true, label_maps_identical: all.size === 1 };
    if (medians.server && medians.libtorch && medians.ort) {
      const best = Math.min(medians.libtorch, medians.ort);
      out.faster_of_two = medians.libtorch <= medians.ort ? 'libtorch' : 'ort';
      out.ratio_server_to_faster = medians.server / best;
      if (medians.server_fetch) out.ratio_server_fetch_to_faster = medians.server_fetch / best;
      out.goal = '<= 1.1';
      out.goal_met = out.ratio_server_to_faster <= 1.1;
    }
    console.log(JSON.stringify(out));
  } finally {
    for (const c of contestants) c.stop();
  }
}
