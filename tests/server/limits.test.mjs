// Limits and control: the bearer token, a full queue (503 + Retry-After), cancelling queued and
// running jobs, finished jobs expiring, CORS for a listed origin; /health answers throughout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { api, chestPhantom, cleanup, exportTinyModel, FIXTURES, niftiBytes, startServer, tempDir, waitJob,
         waitState } from './harness.mjs';

const TOKEN = 'test-token-1234';
const ORIGIN = 'http://app.example:3000';
let dir, server;

// A volume that keeps the one inference worker busy for a while (many slices, small upload).
const LONG = niftiBytes({ dims: [96, 96, 1500], values: chestPhantom(96, 96), gzip: true });
const SMALL = niftiBytes({ dims: [16, 16, 1], values: () => -700 });

before(async () => {
  dir = tempDir('server-limits');
  const model = exportTinyModel(dir);
  server = await startServer(['--model', model, '--web', join(dir, 'no-web'), '--queue-length', '1',
                              '--job-expiry', '2', '--batch', '4', '--token', TOKEN, '--cors-origin', ORIGIN]);
});

after(async () => {
  if (server) await server.stop();
  if (dir) cleanup(dir);
});

// post(body) sends the token; post(body, t) sends t instead (undefined: no Authorization header).
const post = (body, ...t) => api(server, '/api/v1/segment', { method: 'POST', body, token: t.length ? t[0] : TOKEN });

test('the token is required on the API, not on /health', async () => {
  assert.equal((await api(server, '/api/v1/health')).status, 200);
  for (const token of [undefined, 'wrong', `${TOKEN}x`]) {
    const r = await api(server, '/api/v1/model', { token });
    assert.equal(r.status, 401, `token ${token}`);
    assert.equal(r.json.error.type, 'unauthorized');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await post(SMALL, token)).status, 401);
  }
  assert.equal((await api(server, '/api/v1/model', { token: TOKEN })).status, 200);
});

test('a request refused before its body was read does not poison a kept-alive connection', async () => {
  // Two requests written on one socket, as a keep-alive client (Node 18's fetch) reuses it: the
  // first is refused (no token) with its body unread; the second must still get its own answer.
  const { hostname, port } = new URL(server.url);
  const body = Buffer.alloc(4096, 1);
  const wire = Buffer.concat([
    Buffer.from(`POST /api/v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
                `Content-Length: ${body.length}\r\n\r\n`), body,
    Buffer.from('GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n')]);
  const answer = await new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(wire));
    let text = '';
    socket.on('data', (d) => { text += d.toString('latin1'); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  const statuses = [...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
  assert.equal(statuses[0], 401, answer);
  // Either the server closed after the refusal (the client then retries on a new connection) or
  // it answered the second request correctly: never a 400 made of the unread body.
  assert.ok(statuses.length === 1 || statuses[1] === 200, answer);
  assert.match(answer, /Connection: close/i);
});

test('CORS: a listed origin gets the headers and a preflight', async () => {
  const r = await api(server, '/api/v1/health', { headers: { Origin: ORIGIN } });
  assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
  const pre = await fetch(`${server.url}/api/v1/segment`, {
    method: 'OPTIONS',
    headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  const other = await api(server, '/api/v1/health', { headers: { Origin: 'http://other.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

test('queue full -> 503 with Retry-After; cancelling queued and running jobs', async () => {
  const running = await post(LONG);
  assert.equal(running.status, 202, String(running.bytes));
  await waitState(server, running.json.id, ['running'], { token: TOKEN });
  const queued = await post(SMALL);
  assert.equal(queued.status, 202);
  const full = await post(SMALL);
  assert.equal(full.status, 503);
  assert.equal(full.json.error.type, 'queue_full');
  assert.match(full.headers.get('retry-after'), /^\d+$/);
  assert.equal((await api(server, '/api/v1/health')).status, 200, 'health answers while the queue is full');

  // The queued job is cancelled at once; the result says so, and a long poll on it wakes up.
  const polling = api(server, `/api/v1/jobs/${queued.json.id}?wait=60000`, { token: TOKEN });
  await new Promise((ok) => setTimeout(ok, 200));
  const tc = Date.now();
  const dq = await api(server, `/api/v1/jobs/${queued.json.id}`, { method: 'DELETE', token: TOKEN });
  assert.equal(dq.status, 200);
  assert.equal(dq.json.state, 'cancelled');
  assert.equal((await polling).json.state, 'cancelled');
  assert.ok(Date.now() - tc < 10_000, 'the long poll did not wake on cancel');
  const res = await api(server, `/api/v1/jobs/${queued.json.id}/result`, { token: TOKEN });
  assert.equal(res.status, 409);
  assert.equal(res.json.error.type, 'job_cancelled');

  // The running job: not done yet, then cancelled within a batch.
  const early = await api(server, `/api/v1/jobs/${running.json.id}/mask`, { token: TOKEN });
  assert.equal(early.status, 409);
  assert.equal(early.json.error.type, 'job_not_done');
  const dr = await api(server, `/api/v1/jobs/${running.json.id}`, { method: 'DELETE', token: TOKEN });
  assert.equal(dr.status, 200);
  const t0 = Date.now();
  const job = await waitJob(server, running.json.id, { token: TOKEN, timeoutMs: 30_000 });
  assert.equal(job.state, 'cancelled');
  assert.ok(job.progress.done < job.progress.total, JSON.stringify(job.progress));
  assert.ok(Date.now() - t0 < 15_000);

  // The worker is free again.
  const next = await post(SMALL);
  assert.equal(next.status, 202);
  assert.equal((await waitJob(server, next.json.id, { token: TOKEN })).state, 'done');
});

test('finished jobs expire (--job-expiry 2) and can be deleted', async () => {
  const a = await post(SMALL);
  assert.equal((await waitJob(server, a.json.id, { token: TOKEN })).state, 'done');
  const del = await api(server, `/api/v1/jobs/${a.json.id}`, { method: 'DELETE', token: TOKEN });
  assert.equal(del.status, 200);
  assert.equal(del.json.deleted, true);
  assert.equal((await api(server, `/api/v1/jobs/${a.json.id}`, { token: TOKEN })).status, 404);

  const b = await post(readFileSync(join(FIXTURES, 'medseg/tr_im_0022.png')));
  assert.equal((await waitJob(server, b.json.id, { token: TOKEN })).state, 'done');
  assert.equal((await api(server, `/api/v1/jobs/${b.json.id}/result`, { token: TOKEN })).status, 200);
  await new Promise((ok) => setTimeout(ok, 3500));
  const gone = await api(server, `/api/v1/jobs/${b.json.id}/result`, { token: TOKEN });
  assert.equal(gone.status, 404);
  assert.equal(gone.json.error.type, 'not_found');
});

test('no web app folder: / is a JSON 404, the API still works', async () => {
  const r = await api(server, '/');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.type, 'not_found');
});

test('the server still answers /health after all of it, and stops on SIGTERM during a long poll', async () => {
  assert.equal((await api(server, '/api/v1/health')).status, 200);
  const running = await post(LONG);
  assert.equal(running.status, 202);
  await waitState(server, running.json.id, ['running'], { token: TOKEN });
  const polling = api(server, `/api/v1/jobs/${running.json.id}?wait=60000`, { token: TOKEN }).catch((e) => e);
  await new Promise((ok) => setTimeout(ok, 200));
  const t0 = Date.now();
  assert.equal(await server.stop(), 0);
  assert.ok(Date.now() - t0 < 20_000, 'SIGTERM waited for the long poll');
  await polling;
  assert.match(server.log, /stopped/);
  server = null;
});
