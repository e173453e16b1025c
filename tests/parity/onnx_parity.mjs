// ONNX export parity, LibTorch vs onnxruntime-node (ctest parity_onnx_node):
//   node tests/parity/onnx_parity.mjs --dump-tool build/bin/corona_parity_dump \
//        --checkpoint tests/fixtures/models/tiny/checkpoint.pt --fixtures tests/fixtures --work DIR
//   node tests/parity/onnx_parity.mjs --dump DIR        (reuse a dump already written)
// The fp32 graph must give max |diff| <= 1e-4 on seg_logits, cls_logit and cam, and the same
// argmax on >= 99.99 % of pixels, for every case (each fixture slice, a batch, 512 x 512). The fp16
// graph is reported only: ONNX Runtime's CPU provider is not where it is meant to run.
import ort from 'onnxruntime-node';
import path from 'node:path';
import { runDump, readManifest, readF32, readRefs } from './parity_dump.mjs';
import { FP32_BOUNDS, compareCase, formatCase } from './parity_compare.mjs';

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i + 1 < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument '${argv[i]}'`);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  if (!a.dump && !(a['dump-tool'] && a.checkpoint && a.fixtures && a.work)) {
    throw new Error('usage: onnx_parity.mjs (--dump DIR | --dump-tool EXE --checkpoint CKPT --fixtures DIR '
      + '--work DIR)');
  }
  return a;
}

const CONTRACT_INPUTS = ['input'];
const CONTRACT_OUTPUTS = ['seg_logits', 'cls_logit', 'cam'];

async function runModel(dir, manifest, file, bounds) {
  const session = await ort.InferenceSession.create(path.join(dir, file), { intraOpNumThreads: 1 });
  const wantOutputs = CONTRACT_OUTPUTS.filter((n) => n in manifest.cases[0].outputs);
  if (JSON.stringify(session.inputNames) !== JSON.stringify(CONTRACT_INPUTS) ||
      JSON.stringify(session.outputNames) !== JSON.stringify(wantOutputs)) {
    throw new Error(`${file}: names ${session.inputNames} -> ${session.outputNames}, ` +
      `expected ${CONTRACT_INPUTS} -> ${wantOutputs}`);
  }
  const results = [];
  for (const entry of manifest.cases) {
    const input = new ort.Tensor('float32', readF32(dir, entry.input), entry.input.shape);
    const out = await session.run({ input });
    const outputs = Object.fromEntries(wantOutputs.map((n) => [n, out[n].data]));
    for (const n of wantOutputs) {
      if (JSON.stringify(out[n].dims) !== JSON.stringify(entry.outputs[n].shape)) {
        throw new Error(`${file} ${entry.name}: ${n} has shape [${out[n].dims}], LibTorch [${entry.outputs[n].shape}]`);
      }
    }
    results.push(compareCase(entry, readRefs(dir, entry), outputs, bounds));
  }
  await session.release();
  return results;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const dir = a.dump ?? a.work;
  const manifest = a.dump ? readManifest(dir) : runDump({
    tool: a['dump-tool'], checkpoint: a.checkpoint, fixtures: a.fixtures, outDir: a.work,
  });
  console.log(`operators (fp32): ${manifest.ops.fp32.join(', ')}`);
  console.log(`onnxruntime-node ${ort.env.versions?.node ?? ''}, fp32 graph vs LibTorch ` +
    `(bounds: max|d| <= ${FP32_BOUNDS.maxAbs}, argmax >= ${100 * FP32_BOUNDS.argmax} %)`);
  const fp32 = await runModel(dir, manifest, manifest.models.fp32, FP32_BOUNDS);
  for (const r of fp32) console.log('  ' + formatCase(r));

  try {
    const fp16 = await runModel(dir, manifest, manifest.models.fp16, {});
    console.log('fp16 graph on the CPU provider (report only):');
    for (const r of fp16) console.log('  ' + formatCase(r));
  } catch (e) {
    console.log(`fp16 graph on the CPU provider: not run (${String(e.message).split('\n')[0]})`);
  }

  const failed = fp32.filter((r) => r.failures.length);
  if (failed.length) {
    console.error(`FAILED: ${failed.length} of ${fp32.length} cases out of bounds`);
    process.exit(1);
  }
  console.log(`ok: ${fp32.length} cases within bounds`);
}

main().catch((e) => {
  console.error(`onnx_parity: ${e.stack ?? e}`);
  process.exit(1);
});
