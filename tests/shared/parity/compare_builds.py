#!/usr/bin/env python3
"""Cross-build parity: run the core probe natively and as wasm under node on the same fixtures
and require the same outputs: numbers within --tolerance (relative to max(1, |value|)), strings
and integers-as-labels identical. The probe prints one JSON object per run."""
import argparse
import json
import math
import subprocess
import sys


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def compare(a, b, tol, path, problems, counter):
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            problems.append(f"{path}: keys differ: {sorted(set(a) ^ set(b))}")
            return
        for k in a:
            compare(a[k], b[k], tol, f"{path}.{k}", problems, counter)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append(f"{path}: lengths differ ({len(a)} vs {len(b)})")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, tol, f"{path}[{i}]", problems, counter)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        counter[0] += 1
        if math.isnan(a) and math.isnan(b):
            return
        if abs(a - b) > tol * max(1.0, abs(a)):
            problems.append(f"{path}: native {a!r} vs wasm {b!r}")
    elif a != b:
        problems.append(f"{path}: native {a!r} vs wasm {b!r}")
    else:
        counter[0] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--native", required=True)
    ap.add_argument("--wasm", required=True)
    ap.add_argument("--node", default="node")
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-6)
    args = ap.parse_args()
    native = run([args.native, args.fixtures])
    wasm = run([args.node, "--no-experimental-fetch", args.wasm, args.fixtures])
    problems, counter = [], [0]
    compare(native, wasm, args.tolerance, "probe", problems, counter)
    for p in problems[:40]:
        print("MISMATCH", p)
    if counter[0] < 100:
        problems.append(f"only {counter[0]} values compared: the probe printed too little")
        print("MISMATCH", problems[-1])
    print(f"compared {counter[0]} values from {len(native)} probe sections; {len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
