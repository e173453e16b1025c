// Comparison of one runtime's outputs with LibTorch's (the corona_parity_dump manifest), shared by
// onnxruntime-node (onnx_parity.mjs) and ONNX Runtime Web in Chromium (tests/e2e/ort_web_parity):
// plain JS, no node or browser APIs, so the page imports the same file.

// The bounds the issue sets for fp32: logits within 1e-4, argmax equal on >= 99.99 % of pixels.
export const FP32_BOUNDS = { maxAbs: 1e-4, argmax: 0.9999 };

// Argmax over axis 1 of an [N, C, H, W] tensor: Int32Array of N*H*W labels.
export function argmaxLabels(data, shape) {
  const [n, c, h, w] = shape;
  const plane = h * w;
  const labels = new Int32Array(n * plane);
  for (let b = 0; b < n; ++b) {
    for (let p = 0; p < plane; ++p) {
      let best = 0;
      let bestValue = data[b * c * plane + p];
      for (let k = 1; k < c; ++k) {
        const v = data[(b * c + k) * plane + p];
        if (v > bestValue) { best = k; bestValue = v; }
      }
      labels[b * plane + p] = best;
    }
  }
  return labels;
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; ++i) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d;  // NaN wins: a NaN output must fail the bound
  }
  return m;
}

// Dice of each foreground class between two label maps; classes absent from both are left out
// (nothing to agree on), so meanFg is over the classes either map has.
export function diceByClass(ref, got, numClasses) {
  const perClass = {};
  for (let k = 1; k < numClasses; ++k) {
    let inter = 0, a = 0, b = 0;
    for (let i = 0; i < ref.length; ++i) {
      const r = ref[i] === k, g = got[i] === k;
      inter += r && g; a += r; b += g;
    }
    if (a + b > 0) perClass[k] = (2 * inter) / (a + b);
  }
  const values = Object.values(perClass);
  return { perClass, meanFg: values.length ? values.reduce((s, v) => s + v, 0) / values.length : 1 };
}

// One case: outputs {name: Float32Array} against refs {name: Float32Array} with the manifest's
// shapes. Returns the figures; `failures` lists what broke `bounds` ({maxAbs, argmax, meanFgDice}
// each optional).
export function compareCase(entry, refs, outputs, bounds) {
  const r = { name: entry.name, failures: [] };
  const segShape = entry.outputs.seg_logits.shape;
  r.seg_max_abs = maxAbsDiff(refs.seg_logits, outputs.seg_logits);
  const refLabels = argmaxLabels(refs.seg_logits, segShape);
  const gotLabels = argmaxLabels(outputs.seg_logits, segShape);
  let same = 0;
  for (let i = 0; i < refLabels.length; ++i) same += refLabels[i] === gotLabels[i];
  r.argmax_agreement = same / refLabels.length;
  r.dice = diceByClass(refLabels, gotLabels, segShape[1]);
  for (const name of ['cls_logit', 'cam']) {
    if (refs[name]) r[`${name}_max_abs`] = maxAbsDiff(refs[name], outputs[name]);
  }
  const check = (ok, what) => { if (!ok) r.failures.push(what); };
  if (bounds.maxAbs !== undefined) {
    for (const key of ['seg_max_abs', 'cls_logit_max_abs', 'cam_max_abs']) {
      if (key in r) check(r[key] <= bounds.maxAbs, `${key} ${r[key]} > ${bounds.maxAbs}`);
    }
  }
  if (bounds.argmax !== undefined) {
    check(r.argmax_agreement >= bounds.argmax, `argmax agreement ${r.argmax_agreement} < ${bounds.argmax}`);
  }
  if (bounds.meanFgDice !== undefined) {
    check(r.dice.meanFg >= bounds.meanFgDice, `mean foreground Dice ${r.dice.meanFg} < ${bounds.meanFgDice}`);
  }
  return r;
}

// One line per case for the logs.
export function formatCase(r) {
  const e = (v) => (v === undefined ? '-' : v.toExponential(2));
  return `${r.name.padEnd(18)} seg max|d| ${e(r.seg_max_abs)}  argmax ${(100 * r.argmax_agreement).toFixed(4)} %` +
    `  fg Dice ${r.dice.meanFg.toFixed(4)}  cls max|d| ${e(r.cls_logit_max_abs)}  cam max|d| ${e(r.cam_max_abs)}` +
    (r.failures.length ? `  FAIL: ${r.failures.join('; ')}` : '');
}
