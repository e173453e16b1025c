// Service worker: after the first visit the app, the model, ONNX Runtime Web and the demo come
// from the cache when the network is gone. Online, the network always wins (network first), so a
// new build is picked up at once. Responses get COOP/COEP headers, so the page is cross-origin
// isolated (wasm threads) even on a static host that cannot set headers.
const CACHE = 'corona-net-v1';
const PRECACHE = [
  './', 'index.html', 'style.css', 'coronanet-page.js', 'coronanet.js', 'coronanet.wasm', 'inference-worker.js',
  'models/corona-net/plans.json', 'models/corona-net/model.onnx', 'models/corona-net/metrics.json',
  'models/corona-net/training_log.jsonl', 'models/corona-net/card.md',
  'ort/ort.wasm.min.mjs', 'ort/ort-wasm-simd-threaded.mjs', 'ort/ort-wasm-simd-threaded.wasm',
  'ort/ort.webgpu.min.mjs', 'ort/ort-wasm-simd-threaded.asyncify.mjs', 'ort/ort-wasm-simd-threaded.asyncify.wasm',
  'demo/demo_hu.nii.gz', 'demo/demo_labels.nii.gz',
  'demo/tr_im_0022.png', 'demo/tr_im_0032.png', 'demo/tr_im_0048.png',
  'demo/tr_mask_4class_0022.png', 'demo/tr_mask_4class_0032.png', 'demo/tr_mask_4class_0048.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

function isolated(response) {
  if (!response || response.type === 'opaque' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  // The API (jobs, health) is never cached; other origins are not ours to keep.
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.includes('/api/')) return;
  event.respondWith((async () => {
    try {
      const response = await fetch(event.request);
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(event.request, copy)).catch(() => {});
      }
      return isolated(response);
    } catch (offline) {
      const cached = await caches.match(event.request, { ignoreSearch: true });
      if (cached) return isolated(cached);
      throw offline;
    }
  })());
});
