// The page side of the viewer: file picker, drag & drop, demo download and the automation API
// (window.coronanet). Everything that decodes or computes runs in C++ (coronanet.wasm); this
// file only moves bytes: gzip is undone here because the wasm core has no zlib.
'use strict';
(() => {
  const MAX_INPUT_BYTES = 512 * 1024 * 1024;  // beyond this the wasm heap (2 GB max) is at risk
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  window.Module = {
    canvas: document.getElementById('canvas'),
    print: (text) => console.log(text),
    printErr: (text) => console.warn(text),
    onRuntimeInitialized: () => resolveReady(),
  };

  async function gunzipIfNeeded(bytes) {
    if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function state() {
    return JSON.parse(Module.UTF8ToString(Module.ccall('corona_state_json', 'number', [], [])));
  }

  // role: 'image' or 'labels'. Resolves to the viewer state; bad input leaves a message in it.
  async function loadFile(name, bytes, role = 'image') {
    await ready;
    if (bytes.length > MAX_INPUT_BYTES) {
      throw new Error(`${name}: ${bytes.length} bytes is more than this viewer can hold (${MAX_INPUT_BYTES})`);
    }
    let data;
    try {
      data = await gunzipIfNeeded(bytes);
    } catch (e) {
      data = bytes;  // let the core report it: a truncated gzip stream reads as gzip
    }
    const ptr = Module._malloc(Math.max(1, data.length));
    try {
      Module.HEAPU8.set(data, ptr);
      Module.ccall('corona_open_file', 'number', ['number', 'string', 'number', 'number'],
                   [role === 'labels' ? 1 : 0, name, ptr, data.length]);
    } finally {
      Module._free(ptr);
    }
    return state();
  }

  async function fetchBytes(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async function loadDemo() {
    await loadFile('demo: MedSeg slice 32', await fetchBytes('demo/tr_im_0032.png'), 'image');
    return loadFile('demo: radiologist labels', await fetchBytes('demo/tr_mask_4class_0032.png'), 'labels');
  }

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

  window.coronanet = { ready, loadDemo, loadFile, state, openPicker: () => input.click() };
})();
