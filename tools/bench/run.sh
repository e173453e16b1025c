#!/usr/bin/env bash
# tools/bench/run.sh [MODEL]: the native benchmarks in one run (training throughput at 256² in fp32 and bf16,
# per-slice latency at 256² and 512²: LibTorch network, whole predict path,
# onnxruntime-node on the exported model.onnx; where the server's time goes (corona_bench
# stages); one 512² slice end to end by LibTorch, onnxruntime-node and the server, interleaved
# (tools/bench/latency.mjs: the server through node:http and through fetch); a 16-client load run on the server (tools/bench/server.mjs)),
# JSON lines to stdout and build/bench/native.jsonl.
# Run on an idle machine; figures from one run are comparable, runs on other days are not.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-models/corona-net}
bench=build/bin/corona_bench
[ -x "$bench" ] || { echo "tools/bench/run.sh: $bench missing: run tools/setup.sh --no-install first" >&2; exit 1; }
mkdir -p build/bench
out=build/bench/native.jsonl
{
  echo "{\"bench\":\"machine\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\",\"cores\":$(nproc),\"date\":\"$(date -u +%FT%TZ)\",\"commit\":\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\"}"
  "$bench" train --size 256 --batch 8 --precision fp32
  "$bench" train --size 256 --batch 8 --precision bf16
  "$bench" latency --model "$model" --sizes 256,512
  node tools/bench/ort_node.mjs "$model/model.onnx" 256,512 20
  "$bench" stages --model "$model" --slice tests/fixtures/medseg/tr_im_0032.png
  node tools/bench/latency.mjs --model "$model" --slice tests/fixtures/medseg/tr_im_0032.png --repeats 30
  node tools/bench/server.mjs --model "$model" --slice tests/fixtures/medseg/tr_im_0032.png --clients 16 --jobs 160
} | tee "$out"
