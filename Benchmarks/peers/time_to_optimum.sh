#!/bin/bash
# Time to the optimum against scikit-learn's lbfgs, newton-cg and newton-cholesky, in one run.
#
# Usage: bash Benchmarks/peers/time_to_optimum.sh [BINARY]   (default .build/release/softmax)
# Fits J = mean log loss + (λ/2)‖W‖² at λ = 1e-3, no standardisation, tolerance 1e-8, on
# data/digits.csv, data/wine.csv and a generated 200,000 × 100 × 10 set, with our default
# solver (auto), 5 runs (median of train_seconds), and sklearn_fit.py --solver all (3 runs,
# 1 for the generated set). Needs: pip install scikit-learn threadpoolctl.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-.build/release/softmax}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$binary" generate "$work/generated.csv" --rows 200000 --features 100 --classes 10 --seed 1 >/dev/null
for data in data/digits.csv data/wine.csv "$work/generated.csv"; do
  echo "== $(basename "$data")  (CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1 /proc/loadavg))"
  for run in 1 2 3 4 5; do
    "$binary" train "$data" --lambda 1e-3 --no-standardize --tolerance 1e-8 --max-epochs 100000 \
      -q --json -o "$work/model.json" > "$work/run$run.json"
  done
  python3 - "$work" <<'PY'
import json, statistics, sys
runs = [json.load(open(f"{sys.argv[1]}/run{i}.json")) for i in range(1, 6)]
r = runs[0]
print(f"ours (auto, {r['threads']} threads): train {statistics.median(x['train_seconds'] for x in runs):.4f} s "
      f"(min {min(x['train_seconds'] for x in runs):.4f}), solver {r['solver']}, hand-over {r['handover_epoch']}, "
      f"{r['epochs']} epochs, {r['passes']} passes, J = {r['objective']:.12g}, max|grad| {r['gradient_max']:.2g}, {r['stop_reason']}")
PY
  reps=3; [[ "$data" == "$work/generated.csv" ]] && reps=1
  python3 Benchmarks/peers/sklearn_fit.py "$data" --lambda 1e-3 --solver all --reps $reps 2>/dev/null
done
