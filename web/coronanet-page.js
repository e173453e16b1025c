// The page side of the viewer: it moves bytes and nothing else. Files (picker, drag & drop,
// demo) go to C++ (coronanet.wasm), which decodes, preprocesses, post-processes, draws and
// reports with the shared core. Model runs: C++ gives each slice's network input, a worker runs
// ONNX Runtime Web (inference-worker.js), C++ takes the outputs back; or the whole file goes to
// `coronanet serve` and its mask comes back. gzip is undone here (the wasm core has no zlib).
// window.coronanet is the automation API (README: "Browser test API").
'use strict';
(() => {
  // Beyond this a file is refused before it is copied into the wasm heap (2 GB at most, shared
  // with the decoded volume and the prediction).
  const MAX_INPUT_BYTES = 512 * 1024 * 1024;
  const params = new URLSearchParams(location.search);
  // The model folder (plans.json, model.onnx, card files): ?model=DIR/ for another one.
  const MODEL_DIR = (params.get('model') || 'models/corona-net').replace(/\/?$/, '/');
  // What C++ exports (by kind, as wasm/viewer_state.h names them) and how the page saves it.
  const EXPORTS = {
    mask_nifti: { name: 'mask.nii.gz', type: 'application/gzip', gzip: true },
    mask_png: { name: 'mask.png', type: 'image/png' },
    report_json: { name: 'report.json', type: 'application/json' },
    report_csv: { name: 'report.csv', type: 'text/csv' },
  };
  const DEMOS = {
    volume: { image: 'demo/demo_hu.nii.gz', labels: 'demo/demo_labels.nii.gz', name: 'demo: 3 MedSeg slices as HU volume' },
    slice22: { image: 'demo/tr_im_0022.png', labels: 'demo/tr_mask_4class_0022.png', name: 'demo: MedSeg slice 22' },
    slice32: { image: 'demo/tr_im_0032.png', labels: 'demo/tr_mask_4class_0032.png', name: 'demo: MedSeg slice 32' },
    slice48: { image: 'demo/tr_im_0048.png', labels: 'demo/tr_mask_4class_0048.png', name: 'demo: MedSeg slice 48' },
  };
  // The server that takes heavy jobs: the origin this page came from, or ?server=URL.
  const SERVER = (params.get('server') || new URL('.', location.href).href).replace(/\/?$/, '/');
  const TOKEN = params.get('token') || '';

  let resolveReady, rejectReady;
  const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
  // webgpu: an adapter exists (usable on request); webgpuHardware: it is not a software fallback
  // (SwiftShader runs the model ~100x slower than the wasm EP), so "auto" picks it.
  const caps = { webgpu: false, webgpuHardware: false, server: false, isolated: self.crossOriginIsolated === true, threads: 1 };
  let lastFile = null;       // {name, bytes} of the open image, as given (for the server)
  let running = false;
  let cancelRequested = false;
  const engines = {};        // backend -> Promise<{call, info}>
  const timings = { navigationToReadyMs: NaN, navigationToFirstMaskMs: NaN };

  window.Module = {
    canvas: document.getElementById('canvas'),
    print: (text) => console.log(text),
    printErr: (text) => console.warn(text),
    onRuntimeInitialized: () => init().then(resolveReady, (e) => { showError(String(e)); rejectReady(e); })
      .then(openDemoIfAsked),
  };

  // ---- small helpers ------------------------------------------------------------------------
  function showError(message) {
    const bytes = new TextEncoder().encode(message);
    withBytes(bytes, (ptr) => Module._corona_report_error(ptr), true);
  }

  // Copies bytes into the wasm heap for the duration of fn(ptr, length).
  function withBytes(bytes, fn, nulTerminate = false) {
    const ptr = Module._malloc(bytes.length + 1);
    try {
      Module.HEAPU8.set(bytes, ptr);
      if (nulTerminate) Module.HEAPU8[ptr + bytes.length] = 0;
      return fn(ptr, bytes.length);
    } finally {
      Module._free(ptr);
    }
  }
  const withString = (text, fn) => withBytes(new TextEncoder().encode(text), fn, true);
  // A typed array (Float32Array, Int32Array) copied into the heap for the duration of fn(ptr, byteLength).
  const withTypedArray = (array, fn) => withBytes(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), fn);

  async function gunzipIfNeeded(bytes) {
    if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function gzip(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function fetchBytes(url, init) {
    const response = await fetch(url, init);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  function state() {
    return JSON.parse(Module.UTF8ToString(Module._corona_state_json()));
  }

  // ---- start-up -----------------------------------------------------------------------------
  async function probeServer() {
    try {
      const r = await fetch(SERVER + 'api/v1/health', { signal: AbortSignal.timeout(1500), cache: 'no-store' });
      return r.ok && (await r.json()).status === 'ok';
    } catch (e) {
      return false;
    }
  }

  async function probeWebGpu() {
    try {
      const adapter = navigator.gpu && (await navigator.gpu.requestAdapter());
      if (!adapter) return { webgpu: false, webgpuHardware: false };
      const info = adapter.info || {};
      const software = adapter.isFallbackAdapter === true || /swiftshader|software/i.test(`${info.architecture} ${info.description} ${info.vendor}`);
      return { webgpu: true, webgpuHardware: !software };
    } catch (e) {
      return { webgpu: false, webgpuHardware: false };
    }
  }

  async function loadModel() {
    const text = async (file, required) => {
      try {
        return new TextDecoder().decode(await fetchBytes(MODEL_DIR + file));
      } catch (e) {
        if (required) throw e;
        return '';
      }
    };
    const [plans, metrics, log] = await Promise.all([text('plans.json', true), text('metrics.json'), text('training_log.jsonl')]);
    const ok = withString(plans, (p) => withString(metrics, (m) => withString(log, (l) => Module._corona_set_model(p, m, l))));
    if (!ok) throw new Error(state().status);
  }

  async function init() {
    if (params.has('heavy')) Module._corona_set_heavy_job_seconds(Number(params.get('heavy')));
    // The probes may take a while (an adapter request can take a second): the viewer does not
    // wait for them; runs do (run() awaits probes).
    probes.then(() => Module._corona_set_capabilities(caps.webgpu ? 1 : 0, caps.webgpuHardware ? 1 : 0,
                                                      caps.server ? 1 : 0, caps.isolated ? 1 : 0, caps.threads));
    // The service worker's first install downloads ~50 MB (ORT, model, demo) into its cache: not
    // while the first run competes for the same network and CPU. After the first run, or 8 s.
    setTimeout(registerServiceWorker, 8000);
    try {
      await loadModel();
    } catch (e) {
      // The viewer still opens files; runs say the model is missing.
      showError(`The model could not be loaded from ${MODEL_DIR}: ${e.message || e}`);
    }
    timings.navigationToReadyMs = performance.now();
  }

  // ?demo (or ?demo=slice32 ...): open the bundled demo and run the model at once, the
  // "first look" link `coronanet serve` prints.
  async function openDemoIfAsked() {
    if (!params.has('demo')) return;
    try {
      await loadDemo(params.get('demo') || 'volume');
      if (state().model.loaded) await run({ backend: 'auto' });
    } catch (e) {
      console.warn('demo: ' + (e.message || e));
    }
  }

  let serviceWorkerRegistered = false;
  function registerServiceWorker() {
    if (serviceWorkerRegistered || !('serviceWorker' in navigator) || params.has('no-sw')) return;
    serviceWorkerRegistered = true;
    navigator.serviceWorker.register('sw.js').catch((e) => console.warn('service worker: ' + e));
  }

  // ---- files --------------------------------------------------------------------------------
  // role: 'image', 'reference' (labels to compare with) or 'prediction', passed to C++ by name.
  // Resolves to the viewer state; bad input leaves a message in it (state.error) and the previous
  // image stays open.
  async function loadFile(name, bytes, role = 'image') {
    await ready;
    if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
    if (bytes.length > MAX_INPUT_BYTES) {
      showError(`${name}: ${(bytes.length / 2 ** 20).toFixed(0)} MiB is more than this browser viewer can hold ` +
                `(${MAX_INPUT_BYTES / 2 ** 20} MiB); use the server or \`coronanet predict\``);
      return state();
    }
    let data;
    try {
      data = await gunzipIfNeeded(bytes);
    } catch (e) {
      data = bytes;  // let the core say what is wrong: a truncated gzip stream still reads as gzip
    }
    if (data.length > MAX_INPUT_BYTES) {
      showError(`${name}: decompresses to ${(data.length / 2 ** 20).toFixed(0)} MiB, more than this browser viewer can hold`);
      return state();
    }
    const ok = openBytes(role, name, data);
    if (ok && role === 'image') lastFile = { name, bytes };
    return state();
  }

  // Hands decoded bytes to C++ (corona_open_file); 1 on success, 0 with the status saying why.
  function openBytes(role, name, data) {
    return withString(role, (rolePtr) => withString(name, (namePtr) =>
      withBytes(data, (ptr, n) => Module._corona_open_file(rolePtr, namePtr, ptr, n))));
  }

  async function loadDemo(which = 'volume') {
    const demo = DEMOS[which];
    if (!demo) throw new Error(`unknown demo ${which}; one of ${Object.keys(DEMOS).join(', ')}`);
    await loadFile(demo.name, await fetchBytes(demo.image), 'image');
    return loadFile('radiologist labels', await fetchBytes(demo.labels), 'reference');
  }

  // ---- model runs ---------------------------------------------------------------------------
  const autoBackend = () => (caps.webgpuHardware ? 'webgpu' : 'wasm');

  // A worker with an open session for one backend; call(message) resolves to its reply.
  function engine(backend) {
    if (!engines[backend]) {
      engines[backend] = (async () => {
        const worker = new Worker('inference-worker.js', { type: 'module' });
        let nextId = 0;
        const pending = new Map();
        worker.onmessage = ({ data }) => {
          const p = pending.get(data.id);
          pending.delete(data.id);
          if (p) (data.ok ? p.resolve(data) : p.reject(new Error(data.error)));
        };
        worker.onerror = (e) => {
          for (const p of pending.values()) p.reject(new Error(`inference worker: ${e.message || 'failed to start'}`));
          pending.clear();
        };
        const call = (message, transfer = []) => new Promise((resolve, reject) => {
          const id = nextId++;
          pending.set(id, { resolve, reject });
          worker.postMessage({ ...message, id }, transfer);
        });
        const info = await call({ type: 'init', backend, modelUrl: new URL(MODEL_DIR + 'model.onnx', location.href).href,
                                  threads: caps.threads });
        return { call, info, worker, sessionReported: false };
      })();
      engines[backend].catch(() => { delete engines[backend]; });
    }
    return engines[backend];
  }

  function plansSize() {
    return state().model.input_size;
  }

  async function runInBrowser(backend) {
    const eng = await engine(backend);
    const size = plansSize();
    const n = state().slices;
    let totalMs = 0, networkMs = 0, coreMs = 0;
    for (let k = 0; k < n; k++) {
      if (cancelRequested) throw Object.assign(new Error('cancelled by the user'), { cancelled: true });
      const t0 = performance.now();
      const ptr = Module._corona_model_input(k);
      if (!ptr) throw new Error('no network input for slice ' + k);
      const input = Module.HEAPF32.slice(ptr >> 2, (ptr >> 2) + size * size);
      coreMs += performance.now() - t0;
      const out = await eng.call({ type: 'run', input, size }, [input.buffer]);
      const t1 = performance.now();
      const [, classes, h, w] = out.segDims;
      if (h !== size || w !== size) throw new Error(`model output is ${w}x${h}, expected ${size}x${size}`);
      const ok = withTypedArray(out.seg, (segPtr) => out.cam
        ? withTypedArray(out.cam, (camPtr) => Module._corona_accept_output(k, segPtr, classes, size, out.cls, camPtr,
                                                                        out.camDims[3], out.camDims[2]))
        : Module._corona_accept_output(k, segPtr, classes, size, out.cls, 0, 0, 0));
      if (!ok) throw new Error(state().status);
      coreMs += performance.now() - t1;
      totalMs += performance.now() - t0;
      networkMs += out.runMs;
      if (k === 0 && Number.isNaN(timings.navigationToFirstMaskMs)) timings.navigationToFirstMaskMs = performance.now();
      await new Promise((r) => setTimeout(r, 0));  // let the viewer draw the progress
    }
    // The session's load time is reported with the first run that used it.
    const sessionMs = eng.sessionReported ? 0 : eng.info.sessionMs;
    eng.sessionReported = true;
    const report = JSON.parse(Module.UTF8ToString(Module._corona_finish_run(totalMs / n, sessionMs, eng.info.threads)));
    // ms_per_slice is what the user waits for (core pre/post-processing included); this is
    // session.run alone, the figure to compare with other runtimes.
    report.network_ms_per_slice = networkMs / n;
    report.core_ms_per_slice = coreMs / n;  // C++ pre- and post-processing
    return report;
  }

  function apiFetch(path, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (TOKEN) headers.Authorization = 'Bearer ' + TOKEN;
    return fetch(SERVER + path, { ...init, headers, cache: 'no-store' });
  }

  async function apiError(response) {
    try {
      const body = await response.json();
      return new Error(`server: ${body.error.message} (HTTP ${response.status})`);
    } catch (e) {
      return new Error(`server: HTTP ${response.status}`);
    }
  }

  async function runOnServer() {
    if (!lastFile) throw new Error('open a file first');
    const t0 = performance.now();
    const posted = await apiFetch('api/v1/segment', {
      method: 'POST', body: lastFile.bytes, headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (posted.status !== 202) throw await apiError(posted);
    const { id } = await posted.json();
    // The outputs are asked for at once with a long poll: they come back the moment the job is done,
    // while the loop below long-polls the job's state for progress and cancel (a slice saves a round
    // trip: docs/server.md). Past 60 s they answer 409 and are fetched again after the loop.
    const outputs = Promise.all([apiFetch(`api/v1/jobs/${id}/result?wait=60000`),
                                 apiFetch(`api/v1/jobs/${id}/mask?wait=60000`)]);
    outputs.catch(() => {});  // a failed or cancelled job throws from the loop instead
    for (;;) {
      if (cancelRequested) {
        await apiFetch(`api/v1/jobs/${id}`, { method: 'DELETE' }).catch(() => {});
        throw Object.assign(new Error('cancelled by the user'), { cancelled: true });
      }
      const r = await apiFetch(`api/v1/jobs/${id}?wait=500`);
      if (!r.ok) throw await apiError(r);
      const job = await r.json();
      Module._corona_set_run_progress(job.progress.done, job.progress.total);
      if (job.state === 'done') break;
      if (job.state === 'failed') throw new Error('server: ' + job.error);
      if (job.state === 'cancelled') throw Object.assign(new Error('cancelled on the server'), { cancelled: true });
    }
    let [resultResponse, maskResponse] = await outputs;
    if (resultResponse.status === 409) resultResponse = await apiFetch(`api/v1/jobs/${id}/result`);
    if (maskResponse.status === 409) maskResponse = await apiFetch(`api/v1/jobs/${id}/mask`);
    if (!resultResponse.ok) throw await apiError(resultResponse);
    if (!maskResponse.ok) throw await apiError(maskResponse);
    // The server's report is kept as it came (C++ checks it describes the open image); its mask
    // becomes the prediction the viewer draws and exports.
    const result = await resultResponse.text();
    const mask = await gunzipIfNeeded(new Uint8Array(await maskResponse.arrayBuffer()));
    if (!openBytes('prediction', 'server mask', mask)) throw new Error(state().status);
    if (!withString(result, (p) => Module._corona_set_server_report(p))) throw new Error(state().status);
    const n = state().slices;
    return JSON.parse(Module.UTF8ToString(Module._corona_finish_run((performance.now() - t0) / n, 0, 0)));
  }

  // Resolves to the report (the fields of `coronanet predict`'s, or the server's report as it came
  // for a server run, plus backend, ms_per_slice, ...).
  async function run({ backend = 'auto' } = {}) {
    await ready;
    await probes;
    if (running) throw new Error('a model run is already in progress');
    if (backend === 'auto') backend = autoBackend();
    if (!['webgpu', 'wasm', 'server'].includes(backend)) throw new Error(`unknown backend ${backend}`);
    if (backend === 'webgpu' && !caps.webgpu) throw new Error('this browser offers no WebGPU adapter');
    if (backend === 'server' && !caps.server) caps.server = await probeServer();
    if (backend === 'server' && !caps.server) throw new Error(`the server at ${SERVER} is not reachable`);
    const n = withString(backend, (p) => Module._corona_begin_run(p));
    if (!n) throw new Error(state().status);
    running = true;
    cancelRequested = false;
    try {
      const report = backend === 'server' ? await runOnServer() : await runInBrowser(backend);
      registerServiceWorker();
      return report;
    } catch (e) {
      withString(String(e.message || e), (p) => Module._corona_fail_run(e.cancelled ? 1 : 0, p));
      throw e;
    } finally {
      running = false;
    }
  }

  function cancel() {
    cancelRequested = running;
  }

  // The predicted label map in voxel (NIfTI) order: {data: Uint8Array, shape: [nz, ny, nx]}.
  function mask() {
    const dims = new Int32Array(3);
    return withTypedArray(dims, (dimsPtr) => {
      const ptr = Module._corona_mask(dimsPtr);
      if (!ptr) return null;
      const [nx, ny, nz] = Module.HEAP32.subarray(dimsPtr >> 2, (dimsPtr >> 2) + 3);
      return { data: Module.HEAPU8.slice(ptr, ptr + nx * ny * nz), shape: [nz, ny, nx] };
    });
  }

  // Export kind ('mask_nifti', 'mask_png' (the shown slice), 'report_json', 'report_csv') ->
  // {name, type, bytes}.
  async function exportFile(kind) {
    const spec = EXPORTS[kind];
    if (!spec) throw new Error(`unknown export ${kind}; one of ${Object.keys(EXPORTS).join(', ')}`);
    const size = new Int32Array(1);
    const bytes = withString(kind, (kindPtr) => withTypedArray(size, (sizePtr) => {
      const ptr = Module._corona_export(kindPtr, sizePtr);
      const n = Module.HEAP32[sizePtr >> 2];
      return n < 0 ? null : Module.HEAPU8.slice(ptr, ptr + n);
    }));
    if (!bytes) throw new Error(state().status);
    return { name: spec.name, type: spec.type, bytes: spec.gzip ? await gzip(bytes) : bytes };
  }

  async function save(kind) {
    try {
      const file = await exportFile(kind);
      const url = URL.createObjectURL(new Blob([file.bytes], { type: file.type }));
      const a = Object.assign(document.createElement('a'), { href: url, download: file.name });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      showError(String(e.message || e));
    }
  }

  // ---- page events --------------------------------------------------------------------------
  const input = document.getElementById('file-input');
  input.addEventListener('change', async () => {
    for (const file of input.files) await loadFile(file.name, new Uint8Array(await file.arrayBuffer()));
    input.value = '';
  });
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', async (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    for (const file of e.dataTransfer.files) await loadFile(file.name, new Uint8Array(await file.arrayBuffer()));
  });

  // Start-up work that needs no wasm runs now, beside the viewer's own download and compilation:
  // the probes, then the default backend's session (model and ONNX Runtime download, session
  // creation), so the first run does not wait for it. wasm threads: all cores up to 4
  // (?threads=N to choose, e.g. for benchmarks).
  caps.threads = caps.isolated ? Number(params.get('threads')) || Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const probes = Promise.all([probeWebGpu(), probeServer()]).then(([gpu, server]) => Object.assign(caps, gpu, { server }));
  // The wasm EP's session at once (it is the fallback everywhere); WebGPU's once a real GPU is found.
  engine('wasm').catch(() => {});
  probes.then(() => caps.webgpuHardware && engine('webgpu')).catch(() => {});

  window.coronanet = {
    ready, loadDemo, loadFile, run, cancel, mask, state, exportFile,
    report: () => JSON.parse(Module.UTF8ToString(Module._corona_report_json())), save, capabilities: () => probes.then(() => ({ ...caps })),
    timings: () => ({ ...timings }), setSlice: (k) => Module._corona_set_slice(k), openPicker: () => input.click(),
  };
})();
