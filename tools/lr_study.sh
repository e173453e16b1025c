#!/usr/bin/env bash
# tools/lr_study.sh DATA OUT [EPOCHS] [SIZE]: the seed's learning-rate study, reproduced.
# Adam at a constant 1e-2, 1e-3, 1e-4, 1e-5 (no schedule, no warm-up), binary and multi-class,
# segmentation only (no UCSD head), seed 42, one CPU thread per run; runs already finished in OUT
# are kept. Then prints the markdown table of docs/training.md from OUT/*/log.jsonl (val only).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: tools/lr_study.sh DATA OUT [EPOCHS] [SIZE]}
out=${2:?usage: tools/lr_study.sh DATA OUT [EPOCHS] [SIZE]}
epochs=${3:-30}
size=${4:-128}
for task in binary multiclass; do
  for lr in 1e-2 1e-3 1e-4 1e-5; do
    run=$out/$task-$lr
    [ -f "$run/done" ] && continue
    build/bin/coronanet train --data "$data" --out "$run" --task $task --lr $lr --size "$size" \
      --epochs "$epochs" --no-ucsd --threads 1 --schedule constant --warmup-epochs 0 --precision fp32
    touch "$run/done"
  done
done
python3 - "$out" <<'PY'
import json, sys, statistics
out = sys.argv[1]
seed = {"binary": ([0.5641, 0.7374, 0.7965, 0.4745], [0.2167, 0.1031, 0.0766, 0.1591]),
        "multiclass": ([0.5160, 0.5900, 0.6160, 0.5001], [0.2490, 0.2114, 0.1985, 0.2565])}
print("| task | Adam LR | best val Dice (epoch) | Rand error there | mean val Dice, last 5 epochs | mean Rand error, last 5 | seed Dice | seed Rand error |")
print("|---|---|---|---|---|---|---|---|")
for task in ("binary", "multiclass"):
    key = "val_dice_lesion" if task == "binary" else "val_dice_mean_fg"
    for i, lr in enumerate(("1e-2", "1e-3", "1e-4", "1e-5")):
        rows = [json.loads(l) for l in open(f"{out}/{task}-{lr}/log.jsonl")]
        best = max(rows, key=lambda r: r[key] if r[key] is not None else -1)
        last = rows[-5:]
        print(f"| {task} | {lr} | {best[key]:.4f} ({best['epoch']}) | {best['val_rand_error']:.4f} | "
              f"{statistics.mean(r[key] for r in last):.4f} | {statistics.mean(r['val_rand_error'] for r in last):.4f} | "
              f"{seed[task][0][i]:.4f} | {seed[task][1][i]:.4f} |")
PY
