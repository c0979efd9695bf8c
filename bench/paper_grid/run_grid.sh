#!/usr/bin/env bash
# The paper's experiment grid at CPU scale, on synthetic data, from a tiny encoder pretrained with
# `ecgdist pretrain` (Zhou et al. 2025, Figures 2-5 and the results table in miniature):
#   1. a labelled synthetic cohort (RECORDS, default 800) and, unless ENCODER is given, an
#      unlabelled one (PRETRAIN_RECORDS, default 2400) to pretrain a tiny ST-MEM encoder on;
#   2. `ecgdist sweep GRID` (default bench/paper_grid/cpu-grid.json: superdiagnostic and form x
#      fine-tune / post-train / w/o SD / w/o LP x fractions 0.1 0.5 1.0, docs/sweep.md), cells two
#      at a time, finished cells skipped (re-running resumes);
#   3. `ecgdist report` on the sweep: Figures 2-5, the table, index.html (docs/report.md).
# The default grid reads its data and encoder from out/paper-grid (its paths are relative to the
# grid file); another GRID brings its own.
#
#   bash bench/paper_grid/run_grid.sh            (everything in out/paper-grid)
# env: GRID, ENCODER (skip pretraining), RECORDS, PRETRAIN_RECORDS, PRETRAIN_EPOCHS, JOBS
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=out/paper-grid
GRID=${GRID:-bench/paper_grid/cpu-grid.json}
BIN=$PWD/build/launcher/ecgdist
[ -x "$BIN" ] || bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
start=$(date +%s)

if [ ! -f "$OUT/labelled.h5" ]; then
  $BIN synth --out "$OUT/labelled" --records "${RECORDS:-800}" --sampling-rate 100 --seed 21
  $BIN preprocess --ptbxl "$OUT/labelled" --out "$OUT/labelled.h5" --sampling-rate 100
fi
if [ -z "${ENCODER:-}" ] && [ ! -f "$OUT/pretrain/encoder.ckpt" ]; then
  $BIN synth --out "$OUT/unlabelled" --records "${PRETRAIN_RECORDS:-2400}" --sampling-rate 100 --seed 31
  $BIN preprocess --ptbxl "$OUT/unlabelled" --out "$OUT/unlabelled.h5" --sampling-rate 100
  mpirun -np 2 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    $BIN pretrain --data "$OUT/unlabelled.h5" --model tiny --val-folds 10 --lr 1e-3 \
    --epochs "${PRETRAIN_EPOCHS:-10}" --batch-size 16 --threads 1 --out "$OUT/pretrain" --progress off
elif [ -n "${ENCODER:-}" ]; then
  mkdir -p "$OUT/pretrain"
  ln -sf "$(readlink -f "$ENCODER")" "$OUT/pretrain/encoder.ckpt"
fi

$BIN sweep "$GRID" --out "$OUT/sweep" --jobs "${JOBS:-2}"
$BIN report "$OUT/sweep" --out "$OUT/report"
echo "paper_grid: done in $(($(date +%s) - start)) s; open $OUT/report/index.html"
