#!/usr/bin/env bash
# Data-parallel throughput in ONE run, same model, data, global batch, threads and BLAS settings:
#   ecgdist train with 1 rank and with 2 ranks (mpirun)  -> scaling efficiency
#   PyTorch DDP (gloo, python3-torch, ranks started by hand) with 2 ranks -> ecgdist/DDP ratio
# Usage: bench/ddp/compare.sh [model=tiny] [global_batch=32] [records=1200]
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:-tiny}
BATCH=${2:-32}
RECORDS=${3:-1200}
BIN=${ECGDIST_BIN:-build/launcher/ecgdist}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# OpenBLAS ignores torch::set_num_threads: pin it at launch for both sides.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
$BIN synth --out "$W/ptbxl" --records "$RECORDS" --sampling-rate 100 --seed 1 >/dev/null
$BIN preprocess --ptbxl "$W/ptbxl" --out "$W/d.h5" --sampling-rate 100 >/dev/null
common="--data $W/d.h5 --task superdiagnostic --recipe fine-tune --model $MODEL --epochs 1 --batch-size $BATCH --threads 1 --bootstrap 0 --eval-crops 1 --progress off"
sps() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['samples_per_second'])" "$1/results.json"; }

$BIN train $common --out "$W/np1" >/dev/null
one=$(sps "$W/np1")
mpirun -np 2 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS \
  $BIN train $common --out "$W/np2" >/dev/null
two=$(sps "$W/np2")
steps=$(python3 -c "import json; j=json.load(open('$W/np2/results.json')); print(max(5, j['samples_seen']//$BATCH))")

port=$((20000 + RANDOM % 20000))
for r in 1 0; do
  MASTER_ADDR=127.0.0.1 MASTER_PORT=$port RANK=$r WORLD_SIZE=2 /usr/bin/python3 bench/ddp/ddp_reference.py \
    --data "$W/d.h5" --size "$MODEL" --batch "$BATCH" --steps "$steps" --threads 1 > "$W/ddp$r.log" 2>&1 &
done
wait
ddp=$(sed -n 's/^samples_per_s=//p' "$W/ddp0.log")
[ -n "$ddp" ] || { cat "$W/ddp0.log" "$W/ddp1.log"; exit 1; }
python3 - "$MODEL" "$BATCH" "$one" "$two" "$ddp" <<'PY'
import sys
model, batch, one, two, ddp = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
print(f"model {model}, global batch {batch}, 1 thread per rank")
print(f"ecgdist 1 rank : {one:8.2f} samples/s")
print(f"ecgdist 2 ranks: {two:8.2f} samples/s   scaling efficiency {two / (2 * one):.2f}")
print(f"PyTorch DDP 2  : {ddp:8.2f} samples/s   ecgdist/DDP ratio {two / ddp:.2f}")
PY
