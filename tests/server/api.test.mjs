// The server's JSON API as a client sees it: answers equal `coronanet predict`, every class of
// malformed upload gets a 4xx with a message, 16 concurrent clients, static files without
// traversal, the isolation headers, and /health still answering after all of it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { api, chestPhantom, cleanup, comparable, exportTinyModel, FIXTURES, makeWebDir, niftiBytes, predict,
         startServer, tempDir, waitJob } from './harness.mjs';

const PNG = join(FIXTURES, 'medseg/tr_im_0032.png');
let dir, model, server;

before(async () => {
  dir = tempDir('server-api');
  model = exportTinyModel(dir);
  server = await startServer(['--model', model, '--web', makeWebDir(dir), '--queue-length', '64',
                              '--max-upload-bytes', String(4 << 20)]);
});

after(async () => {
  if (server) await server.stop();
  if (dir) cleanup(dir);
});

async function segment(bytes) {
  const r = await api(server, '/api/v1/segment', { method: 'POST', body: bytes });
  assert.equal(r.status, 202, `POST /segment: ${r.bytes}`);
  assert.match(r.json.id, /^[0-9a-f]{32}$/);
  assert.equal(r.headers.get('location'), `/api/v1/jobs/${r.json.id}`);
  return r.json.id;
}

async function finished(bytes) {
  const id = await segment(bytes);
  const job = await waitJob(server, id);
  assert.equal(job.state, 'done', JSON.stringify(job));
  return id;
}

test('health is public and names the model', async () => {
  const r = await api(server, '/api/v1/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.model.version, '0');
});

test('model: the folder\'s plans.json and metrics.json', async () => {
  const r = await api(server, '/api/v1/model');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.plans, JSON.parse(readFileSync(join(model, 'plans.json'), 'utf8')));
  assert.ok('metrics' in r.json);
});

test('a PNG slice: report and mask equal coronanet predict', async () => {
  const id = await finished(readFileSync(PNG));
  const ref = predict(model, PNG, join(dir, 'pred-png'));
  const result = await api(server, `/api/v1/jobs/${id}/result`);
  assert.equal(result.status, 200);
  assert.equal(result.json.input, undefined, 'the server never echoes an input name');
  assert.deepEqual(comparable(result.json), comparable(ref.report));
  const mask = await api(server, `/api/v1/jobs/${id}/mask`);
  assert.equal(mask.status, 200);
  assert.equal(mask.headers.get('content-type'), 'image/png');
  assert.ok(mask.bytes.equals(ref.mask), 'mask PNG bytes differ from predict\'s');
  // The server encodes the overlay only when it is first asked for: the same bytes as predict's.
  for (let k = 0; k < 2; ++k) {
    const overlay = await api(server, `/api/v1/jobs/${id}/overlay`);
    assert.equal(overlay.status, 200);
    assert.equal(overlay.headers.get('content-type'), 'image/png');
    assert.ok(overlay.bytes.equals(ref.overlay), 'overlay PNG bytes differ from predict\'s');
  }
});

test('long poll: ?wait answers when the job finishes, not after the wait', async () => {
  const id = await segment(readFileSync(PNG));
  const t0 = Date.now();
  const r = await api(server, `/api/v1/jobs/${id}?wait=60000`);
  assert.equal(r.status, 200);
  assert.equal(r.json.state, 'done', JSON.stringify(r.json));
  assert.ok(Date.now() - t0 < 30_000, 'the long poll sat out its wait');
  const again = await api(server, `/api/v1/jobs/${id}?wait=60000`);  // finished: at once
  assert.equal(again.json.state, 'done');
  const gone = await api(server, `/api/v1/jobs/${'0'.repeat(32)}?wait=1000`);
  assert.equal(gone.status, 404);
  for (const path of ['', '/result', '/mask']) {
    for (const bad of ['-1', 'abc', '60001', '1e3', '']) {
      const b = await api(server, `/api/v1/jobs/${id}${path}?wait=${bad}`);
      assert.equal(b.status, 400, `${path}?wait=${bad}`);
      assert.equal(b.json.error.type, 'bad_request');
      assert.match(b.json.error.message, /wait must be/);
    }
  }
});

test('long poll on the outputs: result and mask with ?wait, asked for right after the upload', async () => {
  const bytes = readFileSync(PNG);
  const id = await segment(bytes);
  // Asked for at once (without wait, an unfinished job answers 409: limits.test.mjs); the network
  // takes tens of ms, so these usually wait, and must answer with the outputs, not 409.
  const [result, mask] = await Promise.all([api(server, `/api/v1/jobs/${id}/result?wait=60000`),
                                            api(server, `/api/v1/jobs/${id}/mask?wait=60000`)]);
  assert.equal(result.status, 200, JSON.stringify(result.json));
  assert.equal(result.json.kind, 'slice');
  assert.equal(mask.status, 200);
  assert.equal(mask.headers.get('content-type'), 'image/png');
  const later = await api(server, `/api/v1/jobs/${id}/mask`);
  assert.ok(later.bytes.equals(mask.bytes), 'the waited-for mask differs from the one fetched later');
  const missing = await api(server, `/api/v1/jobs/${'0'.repeat(32)}/result?wait=1000`);
  assert.equal(missing.status, 404);
});

test('a NIfTI volume (.nii.gz): report and mask equal coronanet predict', async () => {
  const bytes = niftiBytes({ dims: [48, 40, 5], values: chestPhantom(48, 40), gzip: true });
  const file = join(dir, 'phantom.nii.gz');
  writeFileSync(file, bytes);
  const id = await finished(bytes);
  const job = await api(server, `/api/v1/jobs/${id}`);
  assert.deepEqual(job.json.progress, { done: 5, total: 5 });
  const ref = predict(model, file, join(dir, 'pred-nii'));
  const result = await api(server, `/api/v1/jobs/${id}/result`);
  assert.deepEqual(comparable(result.json), comparable(ref.report));
  assert.deepEqual(result.json.dims, [48, 40, 5]);
  const mask = await api(server, `/api/v1/jobs/${id}/mask`);
  assert.equal(mask.headers.get('content-type'), 'application/gzip');
  assert.ok(gunzipSync(mask.bytes).equals(gunzipSync(ref.mask)), 'mask NIfTI differs from predict\'s');
  const overlay = await api(server, `/api/v1/jobs/${id}/overlay`);
  assert.ok(overlay.bytes.equals(ref.overlay), 'volume overlay PNG differs from predict\'s');
});

test('an uncompressed float32 NIfTI is accepted', async () => {
  await finished(niftiBytes({ dims: [32, 32, 2], type: 'float32', values: chestPhantom(32, 32) }));
});

// Each class of malformed input: status, error type, and a message a person can act on.
const good = niftiBytes({ dims: [16, 16, 2], values: () => -500 });
const malformed = [
  ['empty body', Buffer.alloc(0), 400, 'empty_input', /empty/],
  ['wrong magic (text)', Buffer.from('hello, this is not an image at all'), 415, 'unsupported_media_type', /not a NIfTI/],
  ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), 415, 'unsupported_media_type', /GIF/],
  ['NIfTI with a broken magic', (() => { const b = Buffer.from(good); b.write('x+1', 344, 'latin1'); return b; })(),
   415, 'unsupported_media_type', /not a NIfTI/],
  ['truncated gzip', gzipSync(good).subarray(0, 60), 422, 'invalid_input', /.+/],
  ['gzip of garbage', gzipSync(Buffer.alloc(1000, 7)), 422, 'invalid_input', /.+/],
  ['truncated NIfTI data', good.subarray(0, good.length - 100), 422, 'invalid_input', /.+/],
  ['NIfTI header only', good.subarray(0, 348), 422, 'invalid_input', /.+/],
  ['absurd dims (negative)', niftiBytes({ dims: [4, 4, 1], values: () => 0, header: { dims: [3, -4, 4, 1, 1, 1, 1, 1] } }),
   422, 'invalid_input', /.+/],
  ['zero dims', niftiBytes({ dims: [4, 4, 1], values: () => 0, header: { dims: [3, 0, 4, 1, 1, 1, 1, 1] } }),
   422, 'invalid_input', /.+/],
  ['overflowing dims', niftiBytes({ dims: [4, 4, 1], values: () => 0, header: { dims: [3, 32767, 32767, 32767, 1, 1, 1, 1] } }),
   422, 'invalid_input', /.+/],
  ['4D volume', niftiBytes({ dims: [4, 4, 1], values: () => 0, header: { dims: [4, 4, 4, 1, 2, 1, 1, 1] } }),
   422, 'invalid_input', /.+/],
  ['unsupported datatype (complex64)', niftiBytes({ dims: [4, 4, 1], values: () => 0, header: { datatype: 32, bitpix: 64 } }),
   422, 'invalid_input', /.+/],
  ['truncated PNG', readFileSync(PNG).subarray(0, 200), 422, 'invalid_input', /.+/],
  ['too large (over --max-upload-bytes)', Buffer.concat([good, Buffer.alloc(5 << 20)]), 413, 'payload_too_large', /limit/],
];

for (const [name, body, status, type, message] of malformed) {
  test(`malformed input: ${name} -> ${status}`, async () => {
    const r = await api(server, '/api/v1/segment', { method: 'POST', body });
    assert.equal(r.status, status, `${name}: ${r.bytes}`);
    assert.equal(r.json.error.code, status);
    assert.equal(r.json.error.type, type);
    assert.match(r.json.error.message, message);
  });
}

test('a file sent form-encoded (curl --data-binary default) gets told how to send it', async () => {
  const r = await api(server, '/api/v1/segment', {
    method: 'POST', body: readFileSync(PNG), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(r.status, 413, r.bytes.toString());
  assert.match(r.json.error.message, /application\/octet-stream/);
  // The same bytes as application/octet-stream are accepted.
  await finished(readFileSync(PNG));
});

test('16 concurrent clients all get the same answer', async () => {
  const png = readFileSync(PNG);
  const results = await Promise.all(Array.from({ length: 16 }, async () => {
    const id = await finished(png);
    return (await api(server, `/api/v1/jobs/${id}/mask`)).bytes;
  }));
  for (const m of results) assert.ok(m.equals(results[0]));
});

test('unknown jobs and routes: JSON 404', async () => {
  const r = await api(server, `/api/v1/jobs/${'0'.repeat(32)}`);
  assert.equal(r.status, 404);
  assert.equal(r.json.error.type, 'not_found');
  const bad = await api(server, '/api/v1/jobs/../../etc/passwd');
  assert.equal(bad.status, 404);
  const route = await api(server, '/api/v1/nothing');
  assert.equal(route.status, 404);
  assert.equal(route.json.error.type, 'not_found');
});

test('the web app: index with COOP/COEP, no CORS without --cors-origin', async () => {
  const r = await fetch(`${server.url}/`, { headers: { Origin: 'http://evil.example' } });
  assert.equal(r.status, 200);
  assert.match(await r.text(), /corona-net test app/);
  assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const h = await api(server, '/api/v1/health', { headers: { Origin: 'http://evil.example' } });
  assert.equal(h.headers.get('access-control-allow-origin'), null);
});

test('path traversal is refused', async () => {
  // fetch normalises "..", so raw requests go through node:http.
  const { request } = await import('node:http');
  const raw = (path) => new Promise((ok, fail) => {
    const u = new URL(server.url);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => ok({ status: res.statusCode, body }));
    });
    req.on('error', fail);
    req.end();
  });
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt',
                   '/web/../../secret.txt', '//../secret.txt', '/./../secret.txt', '/..\\secret.txt']) {
    const r = await raw(p);
    assert.notEqual(r.status, 200, p);
    assert.doesNotMatch(r.body, /TOP-SECRET/, p);
  }
});

test('logs: one line per request, no names or bytes', async () => {
  const lines = server.log.split('\n').filter((l) => / (GET|POST|DELETE) /.test(l));
  assert.ok(lines.length > 20);
  for (const l of lines) assert.match(l, /^coronanet serve: (GET|POST|DELETE|OPTIONS) (\/api\/[^ ]*|static) \d{3} [\d.-]+ ms$/);
  assert.doesNotMatch(server.log, /secret|phantom|tr_im_0032|passwd/);
});

test('the server still answers /health after all of it', async () => {
  const r = await api(server, '/api/v1/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
});
