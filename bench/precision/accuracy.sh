#!/usr/bin/env bash
# bf16 against fp32 accuracy in ONE run: the same post-training (same data, seed, recipe) in
# fp32 and in bf16, then `ecgdist compare` -> test macro AUROC / AUPRC of each with bootstrap
# CIs and the paired bootstrap difference bf16 - fp32 (1,000 resamples of the same test records).
# Usage: bench/precision/accuracy.sh [records=1200] [epochs=4] [ranks=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORDS=${1:-1200}
EPOCHS=${2:-4}
RANKS=${3:-2}
BIN=${ECGDIST_BIN:-build/launcher/ecgdist}
W=${ACCURACY_DIR:-$(mktemp -d)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
$BIN synth --out "$W/ptbxl" --records "$RECORDS" --sampling-rate 100 --seed 2 >/dev/null
$BIN preprocess --ptbxl "$W/ptbxl" --out "$W/d.h5" --sampling-rate 100 >/dev/null
for precision in fp32 bf16; do
  mpirun -np "$RANKS" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS \
    $BIN train --data "$W/d.h5" --task superdiagnostic --recipe post-train --model tiny --lp-epochs 1 \
    --epochs "$EPOCHS" --batch-size 32 --threads 1 --progress off --device cpu --precision "$precision" \
    --out "$W/$precision" >/dev/null
done
$BIN compare --data "$W/d.h5" "$W/fp32" "$W/bf16" --labels fp32,bf16 --out "$W/comparison.md" >/dev/null
cat "$W/comparison.md"
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
for p in ("fp32", "bf16"):
    j = json.load(open(f"{w}/{p}/results.json"))
    print(f"{p}: {j['samples_per_second']:.2f} samples/s, best epoch {j['best_epoch']}, "
          f"test macro AUROC {j['test']['macro_auroc']:.4f}")
PY
echo "runs kept in $W"
