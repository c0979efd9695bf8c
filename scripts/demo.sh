#!/usr/bin/env bash
# The main job on the embedded default, a few minutes on 2 cores:
#   synthetic PTB-XL (1,200 records) -> preprocess (100 -> 250 Hz, band-pass, z-score)
#   -> `mpirun -np 2 ecgdist train --recipe post-train` (tiny ST-MEM) -> test metrics.
# Everything lands in ${OUT:-out/demo}; RECORDS, EPOCHS and NP override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${OUT:-out/demo}
NP=${NP:-2}
BIN=build/launcher/ecgdist
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$OUT"
$BIN synth --out "$OUT/ptbxl" --records "${RECORDS:-1200}" --sampling-rate 100 --seed 7
$BIN preprocess --ptbxl "$OUT/ptbxl" --out "$OUT/ptbxl.h5" --sampling-rate 100
$BIN inspect "$OUT/ptbxl.h5"
rm -rf "$OUT/run"
mpirun -np "$NP" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 \
  $BIN train --data "$OUT/ptbxl.h5" --task superdiagnostic --recipe post-train --model tiny \
  --lp-epochs 1 --lp-lr 1e-3 --epochs "${EPOCHS:-3}" --lr 5e-4 --batch-size 32 --threads 1 \
  --bootstrap 1000 --out "$OUT/run" --progress lines --progress-interval 15
echo "demo: results in $OUT/run (results.json, history.csv, test_predictions.csv, best.ckpt)"
