// The model, off the main thread: one ONNX Runtime Web session per worker (the page starts one
// worker per backend). Messages in: {id, type: 'init', backend: 'wasm'|'webgpu', modelUrl, threads}
// and {id, type: 'run', input: Float32Array, size}. Out: {id, ok, ...} or {id, ok: false, error}.
// Only the network runs here: pre- and post-processing are the C++ core's, in the page.

let ort = null;
let session = null;

// Each backend loads only its own ONNX Runtime bundle (the wasm EP's is half the size).
const BUNDLES = { wasm: './ort/ort.wasm.min.mjs', webgpu: './ort/ort.webgpu.min.mjs' };

async function init({ backend, modelUrl, threads }) {
  if (!BUNDLES[backend]) throw new Error(`unknown backend ${backend}`);
  ort = await import(BUNDLES[backend]);
  ort.env.wasm.wasmPaths = new URL('./ort/', self.location.href).href;
  // Threads need cross-origin isolation (COOP/COEP); without it ORT would fail to start them.
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.max(1, threads | 0) : 1;
  if (backend === 'webgpu') {
    const adapter = navigator.gpu && (await navigator.gpu.requestAdapter());
    if (!adapter) throw new Error('no WebGPU adapter in this browser');
  }
  const t0 = performance.now();
  session = await ort.InferenceSession.create(modelUrl, {
    executionProviders: [backend],
    graphOptimizationLevel: 'all',
  });
  return {
    sessionMs: performance.now() - t0,
    threads: ort.env.wasm.numThreads,
    inputs: session.inputNames,
    outputs: session.outputNames,
  };
}

async function run({ input, size }) {
  if (!session) throw new Error('the model session is not open');
  const t0 = performance.now();
  const out = await session.run({ input: new ort.Tensor('float32', input, [1, 1, size, size]) });
  const runMs = performance.now() - t0;
  const seg = out.seg_logits;
  // Copies (slice): an output may be a view on ORT's own (possibly shared) memory, which cannot be
  // transferred to the page.
  const result = { seg: seg.data.slice(), segDims: Array.from(seg.dims), cls: NaN, cam: null, camDims: null, runMs };
  if (out.cls_logit) result.cls = out.cls_logit.data[0];
  if (out.cam) {
    result.cam = out.cam.data.slice();
    result.camDims = Array.from(out.cam.dims);
  }
  return result;
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === 'init') {
      self.postMessage({ id: data.id, ok: true, ...(await init(data)) });
    } else if (data.type === 'run') {
      const r = await run(data);
      const transfer = [r.seg.buffer];
      if (r.cam) transfer.push(r.cam.buffer);
      self.postMessage({ id: data.id, ok: true, ...r }, transfer);
    } else {
      throw new Error(`unknown message ${data.type}`);
    }
  } catch (e) {
    self.postMessage({ id: data.id, ok: false, error: String((e && e.message) || e) });
  }
};
