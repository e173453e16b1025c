// tools/bench/ort_node.mjs MODEL.onnx [SIZES] [REPEATS]: per-slice latency of an exported model in
// onnxruntime-node (CPU execution provider, all cores), batch 1, random normal input; 3 warm-up
// runs, then REPEATS timed runs; one JSON line per size with the median (tools/bench/run.sh).
import ort from 'onnxruntime-node';
import os from 'node:os';

const [model, sizesArg = '256,512', repeatsArg = '20'] = process.argv.slice(2);
if (!model) {
  console.error('usage: node tools/bench/ort_node.mjs MODEL.onnx [256,512] [20]');
  process.exit(2);
}
const threads = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });

function gaussian(n) {
  // Box-Muller with a fixed LCG so every run feeds the same numbers.
  const out = new Float32Array(n);
  let s = 12345;
  const u = () => ((s = (s * 1103515245 + 12345) >>> 0) + 1) / 4294967297;
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

for (const size of sizesArg.split(',').map(Number)) {
  const input = new ort.Tensor('float32', gaussian(size * size), [1, 1, size, size]);
  const ms = [];
  for (let i = 0; i < 3 + Number(repeatsArg); ++i) {
    const t0 = process.hrtime.bigint();
    await session.run({ input });
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 3) ms.push(dt);
  }
  ms.sort((a, b) => a - b);
  const mid = ms.length >> 1;
  const median = ms.length % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
  console.log(JSON.stringify({ bench: 'onnxruntime_node_forward', size, batch: 1, threads,
    median_ms: median, min_ms: ms[0], max_ms: ms[ms.length - 1], repeats: ms.length,
    ort_version: ort.env.versions?.common ?? 'unknown' }));
}
