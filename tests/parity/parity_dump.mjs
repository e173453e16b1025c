// Node side of the ONNX parity checks: runs corona_parity_dump (the LibTorch outputs and the
// exported graphs) and reads what it wrote. Used by onnx_parity.mjs and tests/e2e/ort_web_parity.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Runs the dump tool into `outDir` (emptied first); returns the parsed manifest.
export function runDump({ tool, checkpoint, fixtures, outDir }) {
  if (!fs.existsSync(tool)) {
    throw new Error(`${tool} does not exist: build the corona_parity_dump target first`);
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  execFileSync(tool, ['--checkpoint', checkpoint, '--fixtures', fixtures, '--out', outDir], { stdio: 'inherit' });
  return readManifest(outDir);
}

export function readManifest(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

// A raw little-endian float32 file as a Float32Array of the expected length.
export function readF32(dir, entry) {
  const buf = fs.readFileSync(path.join(dir, entry.file));
  const n = entry.shape.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== 4 * n) throw new Error(`${entry.file}: ${buf.byteLength} bytes, expected ${4 * n}`);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

// {name: Float32Array} of a case's LibTorch outputs.
export function readRefs(dir, entry) {
  return Object.fromEntries(Object.entries(entry.outputs).map(([k, v]) => [k, readF32(dir, v)]));
}
