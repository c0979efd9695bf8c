#!/usr/bin/env bash
# Gradient sync when the link is the bottleneck: two namespaced "nodes" (tests/cluster/
# netns_cluster.sh), one rank each, their links capped with tc tbf, and in the same run on the
# same links, model, data and global batch:
#   ecgdist, Open MPI's binomial all-reduce (libnbc's choice for in-place buffers: what ecgdist
#            got before it selected the ring; --mca coll_libnbc_iallreduce_algorithm 2)
#   ecgdist, ring all-reduce (ecgdist's default, comm/mpi_communicator.cpp set_mpi_defaults)
#   ecgdist, ring, --grad-dtype bf16 (half the bytes)
#   PyTorch DDP, gloo over TCP (bench/ddp/ddp_reference.py), fp32 gradients
#   PyTorch DDP with its fp16_compress_hook (gloo has no bf16 sum, so its bf16 hook cannot run)
# Prints samples/s per setup and rate, the ratio to DDP fp32, and for ecgdist the share of the
# all-reduce time hidden behind backward (results.json gradient_allreduce.hidden_fraction).
# One run each: on a shared 2-core machine the ratios mean more than the absolute numbers.
#
#   bash bench/cluster/tcp_allreduce.sh              (needs root, ip netns, tc; python3-torch)
# env: MODEL [small], RATES ["1gbit 10gbit"], BATCH global [4], RECORDS [80], STEPS (DDP) [12],
#      CROP [2250], ECGDIST_BIN [build/launcher/ecgdist]
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${MODEL:-small}
RATES=${RATES:-1gbit 10gbit}
BATCH=${BATCH:-4}
RECORDS=${RECORDS:-80}
STEPS=${STEPS:-12}
CROP=${CROP:-2250}
BIN=$(readlink -f "${ECGDIST_BIN:-build/launcher/ecgdist}")
[ -x "$BIN" ] || { echo "tcp_allreduce: no ecgdist at $BIN (bash scripts/setup.sh)" >&2; exit 1; }
# shellcheck source=../../tests/cluster/netns_cluster.sh
source tests/cluster/netns_cluster.sh
ncl_check || exit $?
W=$(mktemp -d /tmp/ecgdist-tcp-bench-XXXXXX)
chmod 755 "$W"
trap 'ncl_down; rm -rf "$W"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$BIN" synth --out "$W/ptbxl" --records "$RECORDS" --sampling-rate 100 --seed 3 >/dev/null
"$BIN" preprocess --ptbxl "$W/ptbxl" --out "$W/d.h5" --sampling-rate 100 >/dev/null

json() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# ecgdist NAME [mpirun/ecgdist extras via MPI_EXTRA and TRAIN_EXTRA arrays]
ecgdist_run() {
  local name=$1 out="$W/$1.$rate"
  NCL_TIMEOUT=900 ncl_mpirun -np 2 -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS "${MPI_EXTRA[@]}" \
    "$BIN" train --data "$W/d.h5" --task superdiagnostic --recipe fine-tune --model "$MODEL" \
    --epochs 1 --batch-size "$BATCH" --crop-length "$CROP" --threads 1 --bootstrap 0 --eval-crops 1 \
    --backend mpi --device cpu --progress off --timeout 600 --out "$out" "${TRAIN_EXTRA[@]}" \
    >"$out.log" 2>&1 || { tail -20 "$out.log" >&2; return 1; }
  SPS[$name.$rate]=$(json "$out/results.json" "j['samples_per_second']")
  HIDDEN[$name.$rate]=$(json "$out/results.json" "j['gradient_allreduce']['hidden_fraction']")
  MB[$name.$rate]=$(json "$out/results.json" \
    "round(j['gradient_allreduce']['bytes'] / max(1, j['samples_seen'] // $BATCH) / 1e6, 1)")
}

ddp_run() {
  local name=$1 compress=$2 port=$((20000 + RANDOM % 20000)) r
  for r in 1 0; do
    ncl_exec $((r + 1)) env MASTER_ADDR="$(ncl_addr 1)" MASTER_PORT=$port RANK=$r WORLD_SIZE=2 \
      GLOO_SOCKET_IFNAME=eth0 timeout 900 /usr/bin/python3 bench/ddp/ddp_reference.py \
      --data "$W/d.h5" --size "$MODEL" --batch "$BATCH" --steps "$STEPS" --threads 1 \
      --compress "$compress" >"$W/$name.$rate.$r.log" 2>&1 &
  done
  wait
  SPS[$name.$rate]=$(sed -n 's/^samples_per_s=//p' "$W/$name.$rate.0.log")
  [ -n "${SPS[$name.$rate]}" ] || { tail -5 "$W/$name.$rate".*.log >&2; SPS[$name.$rate]=nan; }
}

declare -A SPS HIDDEN MB
for rate in $RATES; do
  ncl_up 2 "$rate"
  MPI_EXTRA=(--mca coll_libnbc_iallreduce_algorithm 2)
  TRAIN_EXTRA=()
  ecgdist_run binomial
  MPI_EXTRA=()
  ecgdist_run ring
  TRAIN_EXTRA=(--grad-dtype bf16)
  ecgdist_run ring_bf16
  ddp_run ddp none
  ddp_run ddp_fp16 fp16
  ncl_down
done

echo "model $MODEL, global batch $BATCH (1 rank per node, 2 nodes), crop $CROP, 1 thread per rank, one run each"
printf '%-10s %-34s %10s %8s %10s %14s\n' link setup samples/s "/ DDP" "MB/step" "hidden share"
for rate in $RATES; do
  ddp=${SPS[ddp.$rate]}
  for name in binomial ring ring_bf16 ddp ddp_fp16; do
    case $name in
      binomial) label="ecgdist fp32, binomial (before)" ;;
      ring) label="ecgdist fp32, ring" ;;
      ring_bf16) label="ecgdist --grad-dtype bf16, ring" ;;
      ddp) label="PyTorch DDP fp32 (gloo)" ;;
      ddp_fp16) label="PyTorch DDP fp16_compress_hook" ;;
    esac
    /usr/bin/python3 - "$rate" "$label" "${SPS[$name.$rate]}" "$ddp" "${MB[$name.$rate]:--}" \
      "${HIDDEN[$name.$rate]:--}" <<'PY'
import sys
rate, label, sps, ddp, mb, hidden = sys.argv[1:]
ratio = f"{float(sps) / float(ddp):.2f}x" if ddp not in ("nan", "") and sps != "nan" else "-"
hidden = f"{float(hidden):.2f}" if hidden not in ("-", "None") else "-"
print(f"{rate:<10s} {label:<34s} {float(sps):10.2f} {ratio:>8s} {mb:>10s} {hidden:>14s}")
PY
  done
done
