#!/usr/bin/env bash
# The main job on the embedded default: the paper's story end to end on 2 cores, ~10 minutes.
#   1. synth: a larger "unlabelled" synthetic PTB-XL (pretraining) and a smaller labelled one
#   2. preprocess both (100 -> 250 Hz, band-pass, z-score) into HDF5
#   3. mpirun -np 2 ecgdist pretrain      ST-MEM masked pretraining of a tiny encoder
#   4. mpirun -np 2 ecgdist train --recipe fine-tune   from that encoder (the baseline)
#      mpirun -np 2 ecgdist train --recipe post-train  from that encoder (LP init + SD fine-tune)
#   5. ecgdist compare: macro AUROC / AUPRC with bootstrap CIs, paired bootstrap differences
# Everything lands in ${OUT:-out/demo}. Overrides: PRETRAIN_RECORDS, RECORDS, PRETRAIN_EPOCHS,
# EPOCHS, NP.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${OUT:-out/demo}
NP=${NP:-2}
BIN=build/launcher/ecgdist
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun -np "$NP" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1)
mkdir -p "$OUT"

# 1-2. Two disjoint synthetic cohorts (different seeds); pretraining never reads labels.
$BIN synth --out "$OUT/unlabelled" --records "${PRETRAIN_RECORDS:-2400}" --sampling-rate 100 --seed 11
$BIN synth --out "$OUT/ptbxl" --records "${RECORDS:-800}" --sampling-rate 100 --seed 7
$BIN preprocess --ptbxl "$OUT/unlabelled" --out "$OUT/unlabelled.h5" --sampling-rate 100
$BIN preprocess --ptbxl "$OUT/ptbxl" --out "$OUT/ptbxl.h5" --sampling-rate 100
$BIN inspect "$OUT/ptbxl.h5"

# 3. Foundation model: held-out fold 10 reports the reconstruction loss after each epoch.
rm -rf "$OUT/pretrain"
"${MPIRUN[@]}" $BIN pretrain --data "$OUT/unlabelled.h5" --model tiny --val-folds 10 \
  --epochs "${PRETRAIN_EPOCHS:-10}" --lr 1e-3 --batch-size 16 --threads 1 \
  --out "$OUT/pretrain" --progress lines --progress-interval 30

# 4. The two recipes from the same encoder, same data, same seed and budget.
for recipe in fine-tune post-train; do
  rm -rf "$OUT/$recipe"
  "${MPIRUN[@]}" $BIN train --data "$OUT/ptbxl.h5" --task superdiagnostic --recipe "$recipe" \
    --model tiny --init "$OUT/pretrain/encoder.ckpt" --lp-epochs 2 --lp-lr 1e-3 \
    --epochs "${EPOCHS:-4}" --lr 3e-4 --batch-size 32 --threads 1 --bootstrap 1000 \
    --out "$OUT/$recipe" --progress lines --progress-interval 30
done

# 5. Side by side.
$BIN compare --data "$OUT/ptbxl.h5" "$OUT/fine-tune" "$OUT/post-train" \
  --out "$OUT/comparison.md" --json "$OUT/comparison.json"
echo "demo: encoder in $OUT/pretrain, runs in $OUT/fine-tune and $OUT/post-train," \
  "table in $OUT/comparison.md"
