#!/usr/bin/env bash
# Data-parallel throughput and peak memory in ONE run, same model, data, global batch, threads and
# BLAS settings:
#   ecgdist train, fp32 and --precision bf16, 1 rank and 2 ranks (mpirun) -> scaling, bf16 speed-up
#   PyTorch DDP (gloo, python3-torch, ranks started by hand), fp32 and the model cast to bf16
#   PyTorch 2.6 (the Debian 13 root, bench/anchor/trixie_python.sh) with the model cast to bf16:
#   the strongest anchor this machine runs (bench/anchor/README.md), when that root exists
# Every process runs on ecgdist's heap policy (common/allocator.h: ecgdist sets it itself, PyTorch
# gets it through GLIBC_TUNABLES): freed memory kept, which speeds PyTorch up as much as us.
# Peak resident memory of every process is measured with /usr/bin/time (max RSS, per rank).
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
export GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647  # = common/allocator.h
ROOT26=${ECGDIST_TRIXIE_ROOT:-${ECGDIST_CUDA_CACHE:-/var/cache/ecgdist}/trixie-root}
$BIN synth --out "$W/ptbxl" --records "$RECORDS" --sampling-rate 100 --seed 1 >/dev/null
$BIN preprocess --ptbxl "$W/ptbxl" --out "$W/d.h5" --sampling-rate 100 >/dev/null
common="--data $W/d.h5 --task superdiagnostic --recipe fine-tune --model $MODEL --epochs 1 --batch-size $BATCH --threads 1 --bootstrap 0 --eval-crops 1 --progress off --device cpu"
sps() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['samples_per_second'])" "$1/results.json"; }
# Max RSS in MB over the files given (one per rank).
rss() { cat "$@" | awk 'max < $1 { max = $1 } END { printf "%.0f", max / 1024 }'; }
timed() { local out=$1; shift; /usr/bin/time -f %M -o "$out" "$@"; }

declare -A SPS RSS
for precision in fp32 bf16; do
  timed "$W/rss.np1.$precision" $BIN train $common --precision "$precision" --out "$W/np1.$precision" >/dev/null
  SPS[np1.$precision]=$(sps "$W/np1.$precision")
  RSS[np1.$precision]=$(rss "$W/rss.np1.$precision")
  mpirun -np 2 --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS \
    sh -c "/usr/bin/time -f %M -o $W/rss.np2.$precision.\$OMPI_COMM_WORLD_RANK $BIN train $common --precision $precision --out $W/np2.$precision" >/dev/null
  SPS[np2.$precision]=$(sps "$W/np2.$precision")
  RSS[np2.$precision]=$(rss "$W"/rss.np2."$precision".*)
done
steps=$(python3 -c "import json; j=json.load(open('$W/np2.fp32/results.json')); print(max(5, j['samples_seen']//$BATCH))")

# name:interpreter:dtype of each PyTorch DDP run
anchors=(ddp.fp32:/usr/bin/python3:fp32 ddp.bf16:/usr/bin/python3:bf16)
[ -f "$ROOT26/.ecgdist-root-complete" ] && anchors+=(ddp26.bf16:bench/anchor/trixie_python.sh:bf16)
SPS[ddp26.bf16]=0 RSS[ddp26.bf16]=0
for anchor in "${anchors[@]}"; do
  IFS=: read -r name python dtype <<<"$anchor"
  port=$((20000 + RANDOM % 20000))
  for r in 1 0; do
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$port RANK=$r WORLD_SIZE=2 timed "$W/rss.$name.$r" "$python" \
      bench/ddp/ddp_reference.py --data "$W/d.h5" --size "$MODEL" --batch "$BATCH" --steps "$steps" --threads 1 \
      --dtype "$dtype" > "$W/$name.$r.log" 2>&1 &
  done
  wait
  SPS[$name]=$(sed -n 's/^samples_per_s=//p' "$W/$name.0.log")
  [ -n "${SPS[$name]}" ] || { cat "$W/$name.0.log" "$W/$name.1.log"; exit 1; }
  RSS[$name]=$(rss "$W"/rss."$name".*)
done

python3 - "$MODEL" "$BATCH" "${SPS[np1.fp32]}" "${SPS[np2.fp32]}" "${SPS[np1.bf16]}" "${SPS[np2.bf16]}" \
  "${SPS[ddp.fp32]}" "${SPS[ddp.bf16]}" "${RSS[np1.fp32]}" "${RSS[np2.fp32]}" "${RSS[np1.bf16]}" \
  "${RSS[np2.bf16]}" "${RSS[ddp.fp32]}" "${RSS[ddp.bf16]}" "${SPS[ddp26.bf16]}" "${RSS[ddp26.bf16]}" <<'PY'
import sys
model, batch = sys.argv[1], sys.argv[2]
one32, two32, one16, two16, ddp32, ddp16 = map(float, sys.argv[3:9])
r = list(map(int, sys.argv[9:15]))
ddp26, rss26 = float(sys.argv[15]), int(sys.argv[16])
print(f"model {model}, global batch {batch}, 1 thread per rank, one run")
print(f"{'':26s} {'samples/s':>10s} {'peak RSS/rank':>14s}")
print(f"{'ecgdist fp32, 1 rank':26s} {one32:10.2f} {r[0]:11d} MB")
print(f"{'ecgdist fp32, 2 ranks':26s} {two32:10.2f} {r[1]:11d} MB   scaling efficiency {two32 / (2 * one32):.2f}")
print(f"{'ecgdist bf16, 1 rank':26s} {one16:10.2f} {r[2]:11d} MB   bf16/fp32 {one16 / one32:.2f}x")
print(f"{'ecgdist bf16, 2 ranks':26s} {two16:10.2f} {r[3]:11d} MB   bf16/fp32 {two16 / two32:.2f}x")
print(f"{'PyTorch DDP fp32, 2 ranks':26s} {ddp32:10.2f} {r[4]:11d} MB")
print(f"{'PyTorch DDP bf16 model':26s} {ddp16:10.2f} {r[5]:11d} MB")
if ddp26 > 0:
    print(f"{'PyTorch 2.6 DDP bf16 model':26s} {ddp26:10.2f} {rss26:11d} MB")
print(f"ecgdist fp32 / DDP fp32: {two32 / ddp32:.2f}x   ecgdist bf16 / DDP fp32: {two16 / ddp32:.2f}x   "
      f"ecgdist bf16 / DDP bf16 model: {two16 / ddp16:.2f}x")
strongest = max(ddp16, ddp26)
print(f"ecgdist bf16 / strongest anchor ({'PyTorch 2.6' if ddp26 >= ddp16 else 'PyTorch 1.13'} bf16 model): "
      f"{two16 / strongest:.2f}x" + ("" if ddp26 > 0 else "   (no Debian 13 root: PyTorch 2.6 not run)"))
PY
