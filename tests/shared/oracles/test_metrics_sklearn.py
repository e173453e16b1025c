#!/usr/bin/python3
"""Oracle for corona/metrics.h: scikit-learn computes the same figures independently.

Run by ctest as: /usr/bin/python3 test_metrics_sklearn.py --bin-dir BUILD/bin --fixtures tests/fixtures
It writes random masks / probabilities (fixed numpy seed) as raw buffers, runs
corona_metrics_tool on them and compares its JSON with scikit-learn:
  seg: confusion_matrix (counts), f1_score (Dice), jaccard_score (IoU), recall_score,
       precision_score, specificity = tn / (tn + fp), rand_score; per class, ref == 255 dropped.
  cls: confusion_matrix, accuracy_score, precision_score, recall_score, f1_score, roc_auc_score.
  infnet: a plain numpy transcription of Inf-Net's EvaluationTool/main.m + Fmeasure_calu.m.
Undefined ratios (zero denominator) must come back as null under the "nan" policy and as
1-if-no-fp-and-no-fn-else-0 under "one". One line per case, then "N passed, N failed".
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

try:
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, jaccard_score,
                                 precision_score, rand_score, recall_score, roc_auc_score)
except ImportError as exc:  # python3-sklearn missing: say how to fix
    print(f"scikit-learn not importable ({exc}); install python3-sklearn")
    sys.exit(1)

warnings.simplefilter("ignore", UndefinedMetricWarning)
TOL = 1e-9


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def case(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems[:6]))
        else:
            self.passed += 1
            print(f"ok   {name}")


def close(expected, actual):
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        return actual is None
    return actual is not None and abs(float(expected) - float(actual)) <= TOL


def run_tool(tool, args):
    out = subprocess.run([tool] + [str(a) for a in args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"tool exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def write(tmp, name, array):
    path = os.path.join(tmp, name)
    array.tofile(path)
    return path


# ---- segmentation ------------------------------------------------------------------------------

def seg_expected(pred, ref, label, policy):
    """Per-class figures from scikit-learn on the pixels whose reference is not 255."""
    keep = ref != 255
    y_true = ref[keep] == label
    y_pred = pred[keep] == label
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, y_pred, labels=[False, True]).ravel()) \
        if y_true.size else (0, 0, 0, 0)
    undefined = 1.0 if (fp == 0 and fn == 0) else 0.0
    if policy == "nan":
        undefined = None

    def guarded(denominator, compute):
        return undefined if denominator == 0 else compute()

    exp = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    exp["dice"] = guarded(tp + fp + fn, lambda: f1_score(y_true, y_pred, zero_division=1))
    exp["iou"] = guarded(tp + fp + fn, lambda: jaccard_score(y_true, y_pred, zero_division=1))
    exp["sensitivity"] = guarded(tp + fn, lambda: recall_score(y_true, y_pred, zero_division=1))
    exp["precision"] = guarded(tp + fp, lambda: precision_score(y_true, y_pred, zero_division=1))
    exp["specificity"] = guarded(tn + fp, lambda: tn / (tn + fp))
    return exp


def check_seg(checker, tool, tmp, name, pred, ref, num_classes, policy):
    problems = []
    try:
        got = run_tool(tool, ["seg", write(tmp, "p.u8", pred.astype(np.uint8)),
                              write(tmp, "r.u8", ref.astype(np.uint8)), pred.size, num_classes, policy])
    except (RuntimeError, ValueError) as exc:
        checker.case(name, [str(exc)])
        return
    for label in range(num_classes):
        exp = seg_expected(pred.ravel(), ref.ravel(), label, policy)
        cls = got["classes"][label]
        for key, value in exp.items():
            if key in ("tp", "fp", "tn", "fn"):
                if cls[key] != value:
                    problems.append(f"class {label} {key}: sklearn {value}, tool {cls[key]}")
            elif not close(value, cls[key]):
                problems.append(f"class {label} {key}: sklearn {value}, tool {cls[key]}")
    keep = ref.ravel() != 255
    if keep.sum() >= 2:
        ri = rand_score(ref.ravel()[keep], pred.ravel()[keep])
        if not close(ri, got["rand_index"]) or not close(1.0 - ri, got["rand_error"]):
            problems.append(f"rand: sklearn {ri}, tool {got['rand_index']} / {got['rand_error']}")
    elif not close(None if policy == "nan" else 1.0, got["rand_index"]):
        problems.append(f"rand with <2 pixels: tool {got['rand_index']}")
    checker.case(f"seg {name} [{policy}]", problems)


def seg_cases(rng):
    cases = []
    for h, w in [(3, 5), (16, 16), (64, 48), (128, 97)]:
        ref = rng.integers(0, 2, size=(h, w))
        pred = np.where(rng.random((h, w)) < 0.8, ref, 1 - ref)  # mostly right
        ref = np.where(rng.random((h, w)) < 0.1, 255, ref)
        cases.append((f"binary {h}x{w}", pred, ref, 2))
    for h, w in [(4, 4), (32, 40), (100, 100)]:
        ref = rng.integers(0, 4, size=(h, w))
        pred = np.where(rng.random((h, w)) < 0.6, ref, rng.integers(0, 4, size=(h, w)))
        ref = np.where(rng.random((h, w)) < 0.15, 255, ref)
        pred = np.where(rng.random((h, w)) < 0.02, 255, pred)  # a few 255 predictions: never a match
        cases.append((f"4-class {h}x{w}", pred, ref, 4))
    # Class 3 absent from both maps, class 2 only predicted: undefined and one-sided ratios.
    ref = rng.integers(0, 2, size=(20, 20))
    pred = ref.copy()
    pred[0, :5] = 2
    cases.append(("absent classes", pred, ref, 4))
    cases.append(("all empty", np.zeros((8, 8), int), np.zeros((8, 8), int), 2))
    cases.append(("empty ref, busy pred", rng.integers(0, 2, size=(8, 8)), np.zeros((8, 8), int), 2))
    cases.append(("empty pred", np.zeros((8, 8), int), rng.integers(0, 2, size=(8, 8)), 2))
    # A full-size slice: 512x512, where naive pair counting would overflow 32 bits.
    ref = (rng.random((512, 512)) < 0.3).astype(int)
    pred = np.where(rng.random((512, 512)) < 0.9, ref, 1 - ref)
    cases.append(("binary 512x512", pred, ref, 2))
    return cases


# ---- classification ----------------------------------------------------------------------------

def check_cls(checker, tool, tmp, name, probs, labels, threshold):
    problems = []
    try:
        got = run_tool(tool, ["cls", write(tmp, "p.f32", probs.astype("<f4")),
                              write(tmp, "l.u8", labels.astype(np.uint8)), probs.size, repr(threshold), "nan"])
    except (RuntimeError, ValueError) as exc:
        checker.case(name, [str(exc)])
        return
    keep = labels != 255
    y_true = labels[keep].astype(int)
    score = probs[keep].astype(np.float64)  # compare in double, as the C++ does
    y_pred = (score >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())
    for key, value in {"tp": tp, "fp": fp, "tn": tn, "fn": fn}.items():
        if got[key] != value:
            problems.append(f"{key}: sklearn {value}, tool {got[key]}")
    expected = {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": None if tp + fp == 0 else precision_score(y_true, y_pred),
        "recall": None if tp + fn == 0 else recall_score(y_true, y_pred),
        "specificity": None if tn + fp == 0 else tn / (tn + fp),
        "f1": None if tp + fp + fn == 0 else f1_score(y_true, y_pred),
        "roc_auc": roc_auc_score(y_true, score) if len(set(y_true.tolist())) == 2 else None,
    }
    for key, value in expected.items():
        if not close(value, got[key]):
            problems.append(f"{key}: sklearn {value}, tool {got[key]}")
    checker.case(f"cls {name} t={threshold}", problems)


def cls_cases(rng):
    cases = []
    for n in [7, 50, 333, 2000]:
        labels = rng.integers(0, 2, size=n)
        # Coarse grid -> many ties; positives score higher on average.
        probs = np.clip(np.round((rng.random(n) * 0.7 + 0.3 * labels) * 20) / 20, 0, 1).astype(np.float32)
        if n >= 50:
            labels = np.where(rng.random(n) < 0.05, 255, labels)  # unknown: skipped
        cases.append((f"n={n}", probs, labels))
    cases.append(("one class", np.array([0.2, 0.7, 0.7], np.float32), np.array([1, 1, 1])))
    cases.append(("all tied", np.full(10, 0.5, np.float32), np.array([0, 1] * 5)))
    return cases


# ---- Inf-Net ------------------------------------------------------------------------------------

def infnet_reference(prob, ref, quantize):
    """EvaluationTool/main.m + Fmeasure_calu.m on a float map, as MyTest_LungInf.py feeds it."""
    inc = -1.0 / 255.0
    thresholds = np.zeros(256)
    for k in range(128):  # MATLAB's colon: base + k*inc from the front, limit - k*inc from the back
        thresholds[k] = 1.0 + k * inc
        thresholds[255 - k] = 0.0 - k * inc
    p = prob.astype(np.float64)
    lo, hi = p.min(), p.max()
    v = (p - lo) / (hi - lo) if hi > lo else np.zeros_like(p)
    if quantize:
        v = np.floor(v * 255.0 + 0.5) / 255.0
    keep = ref != 255
    gt = ref[keep] == 1
    v = v[keep]
    dice = []
    for t in thresholds:
        label3 = v >= t
        tp = int(np.sum(label3 & gt))
        dice.append(0.0 if tp == 0 else 2.0 * tp / (gt.sum() + label3.sum()))
    return float(np.mean(dice)), float(np.max(dice))


def check_infnet(checker, tool, tmp, name, prob, ref, quantize):
    try:
        got = run_tool(tool, ["infnet", write(tmp, "p.f32", prob.astype("<f4")),
                              write(tmp, "r.u8", ref.astype(np.uint8)), prob.size, "u8" if quantize else "float"])
    except (RuntimeError, ValueError) as exc:
        checker.case(name, [str(exc)])
        return
    mean_dice, max_dice = infnet_reference(prob.ravel(), ref.ravel(), quantize)
    problems = []
    if not close(mean_dice, got["mean_dice"]) or not close(max_dice, got["max_dice"]):
        problems.append(f"numpy {mean_dice}/{max_dice}, tool {got['mean_dice']}/{got['max_dice']}")
    checker.case(f"infnet {name} [{'u8' if quantize else 'float'}]", problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="build/bin holding corona_metrics_tool")
    parser.add_argument("--fixtures", help="tests/fixtures (unused: every input is generated)")
    args = parser.parse_args()
    tool = os.path.join(args.bin_dir, "corona_metrics_tool")
    if not os.access(tool, os.X_OK):
        print(f"corona_metrics_tool not found in {args.bin_dir}: build the tests first")
        print("0 passed, 1 failed")
        return 1

    rng = np.random.default_rng(20240517)
    checker = Checker()
    with tempfile.TemporaryDirectory(prefix="corona_metrics_") as tmp:
        for name, pred, ref, k in seg_cases(rng):
            for policy in ("nan", "one"):
                check_seg(checker, tool, tmp, name, pred, ref, k, policy)
        for name, probs, labels in cls_cases(rng):
            for threshold in (0.5, 0.35, float(probs[0])):  # probs[0]: a threshold on a tied value
                check_cls(checker, tool, tmp, name, probs, labels, threshold)
        for h, w in [(2, 2), (16, 16), (64, 80)]:
            prob = rng.random((h, w)).astype(np.float32)
            ref = (rng.random((h, w)) < 0.4).astype(np.uint8)
            ref[0, 0] = 255
            for quantize in (True, False):
                check_infnet(checker, tool, tmp, f"{h}x{w}", prob, ref, quantize)
        check_infnet(checker, tool, tmp, "constant", np.full((4, 4), 0.3, np.float32),
                     (rng.random((4, 4)) < 0.5).astype(np.uint8), True)
    print(f"{checker.passed} passed, {checker.failed} failed")
    return 1 if checker.failed else 0


if __name__ == "__main__":
    sys.exit(main())
