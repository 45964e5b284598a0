#!/usr/bin/env bash
# Every GPU row of issue 19 in one run (about 8 minutes on an H100/H200; --budget-s stops
# early rather than overrun): XLM-R large in bf16 through the harness's training loop at
# XNLI and QA shapes (micro-batch 32: length-grouped, packed rows, CUDA graphs), the reference
# settings (XTREME's scripts: 2 x 16 padded to 128, 4 x 8 padded to 384), their MFU, the
# per-cell speed-up over the reference, and the paper grid's GPU-hours from the measured
# rates (`harness plan --measured`). Usage: bash benchmarks/gpu_issue19.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp/xtransfer-gpu}}"
mkdir -p "$out"
rows="xnli-b32,xnli-b32-packed256,qa-b32,xnli-xtreme-padded,qa-xtreme-padded"
rows="$rows,xnli-b32-pad32-graphs,xnli-b32-packed256-graphs,qa-b32-pad32-graphs"
XTRANSFER_BENCH_REPORT="$out/rows.jsonl" python benchmarks/bench_gpu.py --sdpa harness \
    --only "$rows" --steps 30 --warmup 6 --budget-s 420 --json "$out/gpu.json" \
    2>&1 | grep -v '━' | tee "$out/bench_gpu.txt"
python benchmarks/report.py "$out/rows.jsonl" | tee "$out/report.md"
for profile in paper paper-xtreme; do
    python -c "from harness import profiles; print(profiles.render('$profile'))" \
        > "$out/params-$profile.yaml"
    python -m harness plan --params "$out/params-$profile.yaml" --measured "$out/gpu.json" \
        | tee "$out/plan-$profile.txt"
done
