#!/usr/bin/env bash
# The paper's experiment grid at CPU scale, on synthetic data, from a tiny encoder pretrained with
# `ecgdist pretrain` (Zhou et al. 2025, tables 1-3 in miniature):
#   variants   fine-tune | post-train | post-train w/o LP (--lp-epochs 0) | w/o SD (--drop-path 0)
#   x train fractions (FRACTIONS, default 0.1 0.3 1.0)  x seeds (SEEDS, default 0 1 2)
# Every cell is one `ecgdist train` run (1 rank, 1 thread; PARALLEL cells at a time). Then
# `ecgdist compare` per (fraction, seed) gives each variant's paired bootstrap difference to
# fine-tune on the same test records, and report.py tabulates everything into OUT/report.md.
# Re-running resumes: finished cells (results.json present) are skipped.
#
#   bash bench/paper_grid/run_grid.sh [OUT]        (default out/paper-grid)
# env: ENCODER (skip pretraining), RECORDS, PRETRAIN_RECORDS, PRETRAIN_EPOCHS, FRACTIONS, SEEDS,
#      PARALLEL, EPOCHS, LP_EPOCHS, CROP, BATCH
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-out/paper-grid}
BIN=$PWD/build/launcher/ecgdist
[ -x "$BIN" ] || bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
start=$(date +%s)

if [ ! -f "$OUT/labelled.h5" ]; then
  $BIN synth --out "$OUT/labelled" --records "${RECORDS:-800}" --sampling-rate 100 --seed 21
  $BIN preprocess --ptbxl "$OUT/labelled" --out "$OUT/labelled.h5" --sampling-rate 100
fi
ENCODER=${ENCODER:-}
if [ -z "$ENCODER" ]; then
  ENCODER=$OUT/pretrain/encoder.ckpt
  if [ ! -f "$ENCODER" ]; then
    $BIN synth --out "$OUT/unlabelled" --records "${PRETRAIN_RECORDS:-2400}" --sampling-rate 100 --seed 31
    $BIN preprocess --ptbxl "$OUT/unlabelled" --out "$OUT/unlabelled.h5" --sampling-rate 100
    mpirun -np 2 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
      $BIN pretrain --data "$OUT/unlabelled.h5" --model tiny --val-folds 10 --lr 1e-3 \
      --epochs "${PRETRAIN_EPOCHS:-10}" --batch-size 16 --threads 1 --out "$OUT/pretrain" --progress off
  fi
fi

VARIANTS="fine-tune post-train wo-lp wo-sd"
FRACTIONS=${FRACTIONS:-0.1 0.3 1.0}
SEEDS=${SEEDS:-0 1 2}
LP_EPOCHS=${LP_EPOCHS:-2}
export BIN OUT ENCODER LP_EPOCHS
export COMMON="--data $OUT/labelled.h5 --task superdiagnostic --model tiny --init $ENCODER \
 --crop-length ${CROP:-1125} --lp-lr 1e-3 --epochs ${EPOCHS:-6} \
 --patience 3 --lr 3e-4 --batch-size ${BATCH:-32} --threads 1 --eval-crops 2 --bootstrap 200 \
 --progress off --quiet"

run_cell() {
  local variant=$1 fraction=$2 seed=$3
  local dir=$OUT/runs/f$fraction/s$seed/$variant
  [ -f "$dir/results.json" ] && return 0
  local flags
  case $variant in
    fine-tune) flags="--recipe fine-tune" ;;
    post-train) flags="--recipe post-train --lp-epochs $LP_EPOCHS" ;;
    wo-lp) flags="--recipe post-train --lp-epochs 0" ;;
    wo-sd) flags="--recipe post-train --lp-epochs $LP_EPOCHS --drop-path 0" ;;
  esac
  mkdir -p "$(dirname "$dir")"
  # shellcheck disable=SC2086
  if ! $BIN train $COMMON $flags --train-fraction "$fraction" --seed "$seed" --out "$dir" >"$dir.log" 2>&1; then
    echo "paper_grid: cell $variant f=$fraction seed=$seed FAILED (see $dir.log)" >&2
    return 1
  fi
  echo "paper_grid: cell $variant f=$fraction seed=$seed done"
}
export -f run_cell

for f in $FRACTIONS; do for s in $SEEDS; do for v in $VARIANTS; do echo "$v $f $s"; done; done; done |
  xargs -P "${PARALLEL:-2}" -L 1 bash -c 'run_cell "$0" "$1" "$2"'

mkdir -p "$OUT/compare"
for f in $FRACTIONS; do
  for s in $SEEDS; do
    d=$OUT/runs/f$f/s$s
    $BIN compare --data "$OUT/labelled.h5" "$d/fine-tune" "$d/post-train" "$d/wo-lp" "$d/wo-sd" \
      --labels "fine-tune,post-train,w/o LP,w/o SD" --bootstrap 1000 --seed "$s" \
      --json "$OUT/compare/f$f-s$s.json" >/dev/null
  done
done
python3 bench/paper_grid/report.py "$OUT" --seconds $(($(date +%s) - start)) >"$OUT/report.md.tmp"
mv "$OUT/report.md.tmp" "$OUT/report.md"
cat "$OUT/report.md"
