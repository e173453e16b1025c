// tools/bench/fp16_dice.mjs: does the fp16 ONNX graph keep the Dice of the fp32 one? Measures an
// exported model folder (model.pt, model.onnx, model.fp16.onnx, plans.json) on one MedSeg split:
//
//   node tools/bench/fp16_dice.mjs --model models/corona-net --data DATA --split val \
//        [--work build/bench/fp16_dice_val] [--tool build/bin/corona_parity_dump] [--threads 1] \
//        [--tolerance 0.005]
//
// 1. corona_parity_dump --split-dump: each slice's network input exactly as the Predictor builds it,
//    and LibTorch's own scores through Predictor::predict_slice.
// 2. onnxruntime-node (CPU execution provider): model.onnx and model.fp16.onnx on those inputs,
//    batch 1; seg_logits written to WORK/onnx_fp32 and WORK/onnx_fp16.
// 3. corona_parity_dump --score: the Predictor's postprocessing (segmentation_from_logits) and the
//    core's metrics on those logits, as `coronanet evaluate` scores a slice; WORK/summary.json.
// Prints the summary as one JSON line and a markdown table. No metric is computed here: every
// figure comes from the C++ core. The fp16 graph runs on ONNX Runtime's CPU provider, not on
// WebGPU: its float16 arithmetic is what is measured, not a WebGPU adapter's.
import ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv) {
  const a = { tool: path.join(root, 'build/bin/corona_parity_dump'), threads: '1', tolerance: '0.005' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument '${argv[i]}'`);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  if (!a.model || !a.data || !a.split) {
    throw new Error('usage: fp16_dice.mjs --model DIR --data DIR --split val|test [--work DIR] [--tool EXE] '
      + '[--threads N] [--tolerance T]');
  }
  a.work ??= path.join(root, `build/bench/fp16_dice_${a.split}`);
  return a;
}

function tool(a, args) {
  if (!fs.existsSync(a.tool)) throw new Error(`${a.tool} does not exist: build the corona_parity_dump target`);
  execFileSync(a.tool, args, { stdio: ['ignore', 'inherit', 'inherit'] });
}

// Runs one graph on every dumped input; writes WORK/RUN/<case>.seg_logits.f32. Returns timings, or
// {error} when the graph cannot be run on this provider.
async function runGraph(a, manifest, file, run) {
  const dir = path.join(a.work, run);
  fs.mkdirSync(dir, { recursive: true });
  let session;
  try {
    session = await ort.InferenceSession.create(file, { intraOpNumThreads: Number(a.threads) });
  } catch (e) {
    return { run, file, error: String(e.message).split('\n')[0] };
  }
  if (session.inputNames[0] !== 'input' || session.outputNames[0] !== 'seg_logits') {
    throw new Error(`${file}: names ${session.inputNames} -> ${session.outputNames}`);
  }
  const want = [1, manifest.num_classes, manifest.input_size, manifest.input_size];
  const ms = [];
  for (const c of manifest.cases) {
    const buf = fs.readFileSync(path.join(a.work, c.input.file));
    const n = c.input.shape.reduce((x, y) => x * y, 1);
    if (buf.byteLength !== 4 * n) throw new Error(`${c.input.file}: ${buf.byteLength} bytes, expected ${4 * n}`);
    const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const t0 = process.hrtime.bigint();
    const out = await session.run({ input: new ort.Tensor('float32', x, c.input.shape) }, ['seg_logits']);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const y = out.seg_logits;
    if (y.type !== 'float32' || JSON.stringify(y.dims) !== JSON.stringify(want)) {
      throw new Error(`${file} ${c.name}: seg_logits ${y.type} [${y.dims}], expected float32 [${want}]`);
    }
    fs.writeFileSync(path.join(dir, `${c.name}.seg_logits.f32`),
      Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  }
  await session.release();
  ms.sort((p, q) => p - q);
  return { run, file, slices: ms.length, median_ms: ms[ms.length >> 1] };
}

// Column order of the table: lesion Dice, then the classes, then agreement with LibTorch.
const ORDER = ['dice', 'ggo_dice', 'consolidation_dice', 'effusion_dice', 'label_agreement'];
const rank = (k) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
const yesNo = (v) => (v === null || v === undefined ? 'n/a (nothing defined in both)' : v ? 'yes' : 'NO');

// Four decimals, or two significant digits when that would hide a non-zero difference.
const num = (v) => (v !== 0 && Math.abs(v) < 5e-5 ? v.toExponential(1) : v.toFixed(4));
const fmt = (v) => (v === null || v === undefined ? 'n/a' : num(v));
const fmtDiff = (v) => (v === null || v === undefined ? 'n/a' : (v >= 0 ? '+' : '') + num(v));

function table(summary, graphs) {
  const keys = [...new Set(summary.runs.flatMap((r) => Object.keys(r.mean)))]
    .sort((p, q) => rank(p) - rank(q) || p.localeCompare(q));
  const diffKeys = keys.filter((k) => k !== 'label_agreement');
  const cols = ['run', ...keys];
  const lines = [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  for (const r of summary.runs) {
    // label_agreement with six decimals: fp16 moves a few pixels in 10^5.
    const cell = (k) => (k === 'label_agreement' && r.mean[k] !== null ? r.mean[k].toFixed(6) : fmt(r.mean[k]));
    lines.push(`| ${r.run} | ${keys.map((k) => (k in r.mean ? `${cell(k)} (${r.cases_counted[k]})` : '-'))
      .join(' | ')} |`);
  }
  for (const g of graphs.filter((x) => x.error)) lines.push(`| ${g.run} | not run: ${g.error} |`);
  lines.push('', `| a - b | ${diffKeys.join(' | ')} | all within ±${summary.tolerance} |`,
    `|${['', ...diffKeys, ''].map(() => '---').join('|')}|`);
  for (const d of summary.differences) {
    const cells = diffKeys.map((k) => {
      const e = d.metrics[k];
      if (!e) return '';
      return `${fmtDiff(e.mean_difference)} (max slice ${fmt(e.max_abs_slice_difference)})`;
    });
    lines.push(`| ${d.a} - ${d.b} | ${cells.join(' | ')} | ${yesNo(d.all_within_tolerance)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  if (a.split === 'test') console.error('fp16_dice: note: the test split is for reporting only, never for choosing');
  fs.rmSync(a.work, { recursive: true, force: true });
  fs.mkdirSync(a.work, { recursive: true });
  tool(a, ['--split-dump', '--model', a.model, '--data', a.data, '--split', a.split, '--work', a.work,
    '--threads', a.threads]);
  const manifest = JSON.parse(fs.readFileSync(path.join(a.work, 'manifest.json'), 'utf8'));
  const graphs = [];
  for (const [kind, run] of [['fp32', 'onnx_fp32'], ['fp16', 'onnx_fp16']]) {
    if (!manifest.onnx[kind]) throw new Error(`${a.model}: plans.json names no ${kind} ONNX file (run coronanet export)`);
    graphs.push(await runGraph(a, manifest, manifest.onnx[kind], run));
  }
  const ran = graphs.filter((g) => !g.error).map((g) => g.run);
  if (!ran.includes('onnx_fp32')) throw new Error(`model.onnx did not run: ${graphs[0].error}`);
  tool(a, ['--score', '--work', a.work, '--logits', ran.join(','), '--tolerance', a.tolerance]);
  const summary = JSON.parse(fs.readFileSync(path.join(a.work, 'summary.json'), 'utf8'));

  const verdict = summary.differences.find((d) => d.a === 'onnx_fp16' && d.b === 'onnx_fp32');
  const report = {
    bench: 'fp16_dice', model: a.model, data: a.data, split: a.split, num_cases: summary.num_cases,
    input_size: summary.input_size, tolerance: summary.tolerance,
    runtime: `onnxruntime-node ${ort.env.versions?.common ?? 'unknown'}, CPU execution provider, `
      + `${a.threads} thread(s), batch 1`,
    fp16_within_tolerance: verdict ? verdict.all_within_tolerance : null,
    fp16_lesion_dice_difference: verdict ? verdict.metrics.dice.mean_difference : null,
    fp16_note: verdict ? undefined : `model.fp16.onnx not measured: ${graphs[1].error}`,
    runs: summary.runs, differences: summary.differences, graphs,
    seconds: (Date.now() - t0) / 1000, work: a.work,
  };
  fs.writeFileSync(path.join(a.work, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  // The printed line: the means and the differences of means (per-slice details in report.json).
  console.log(JSON.stringify({ ...report, differences: report.differences.map((d) => ({
    a: d.a, b: d.b, all_within_tolerance: d.all_within_tolerance,
    mean_difference: Object.fromEntries(Object.entries(d.metrics).map(([k, e]) => [k, e.mean_difference])),
  })) }));
  console.log(`\n${a.split} split, ${summary.num_cases} slices, mean over slices (slices counted):\n`);
  console.log(table(summary, graphs));
  console.log(verdict
    ? `\nfp16 vs fp32: lesion Dice ${fmtDiff(verdict.metrics.dice.mean_difference)}; every Dice within `
      + `±${summary.tolerance}: ${yesNo(verdict.all_within_tolerance)}`
    : `\nfp16 vs fp32: not measured (${graphs[1].error})`);
}

main().catch((e) => {
  console.error(`fp16_dice: ${e.stack ?? e}`);
  process.exit(1);
});
