#!/usr/bin/env bash
# bf16 against fp32 in ONE run: `ecgdist train` (fine-tune, 1 epoch) and `ecgdist pretrain`
# (1 epoch) samples/s of optimiser steps, for each model size, 1 and 2 ranks, 1 thread per rank.
# Usage: bench/precision/precision.sh [models="tiny small"] [records=600]
set -euo pipefail
cd "$(dirname "$0")/../.."
MODELS=${1:-tiny small}
RECORDS=${2:-600}
BIN=${ECGDIST_BIN:-build/launcher/ecgdist}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
$BIN synth --out "$W/ptbxl" --records "$RECORDS" --sampling-rate 100 --seed 1 >/dev/null
$BIN preprocess --ptbxl "$W/ptbxl" --out "$W/d.h5" --sampling-rate 100 >/dev/null
sps() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['samples_per_second'])" "$1/results.json"; }
run() {  # ranks command model precision -> samples/s
  local np=$1 cmd=$2 model=$3 precision=$4 out="$W/$2.$3.$1.$4" args
  if [ "$cmd" = train ]; then
    args="--task superdiagnostic --recipe fine-tune --epochs 1 --bootstrap 0 --eval-crops 1"
  else
    args="--epochs 1 --crop-length 2250"
  fi
  local launch=""
  [ "$np" = 2 ] && launch="mpirun -np 2 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS"
  $launch $BIN "$cmd" --data "$W/d.h5" --model "$model" --batch-size 32 --threads 1 --progress off --device cpu \
    --precision "$precision" $args --out "$out" >/dev/null
  sps "$out"
}
printf '%-9s %-6s %-6s %12s %12s %8s\n' command model ranks "fp32 s/s" "bf16 s/s" bf16/fp32
for model in $MODELS; do
  for cmd in train pretrain; do
    for np in 1 2; do
      a=$(run "$np" "$cmd" "$model" fp32)
      b=$(run "$np" "$cmd" "$model" bf16)
      python3 -c "import sys; c,m,n,a,b=sys.argv[1:]; print(f'{c:9s} {m:6s} {n:6s} {float(a):12.2f} {float(b):12.2f} {float(b)/float(a):7.2f}x')" \
        "$cmd" "$model" "$np" "$a" "$b"
    done
  done
done
