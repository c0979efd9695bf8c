#!/usr/bin/env bash
# Ingest at scale (#26), on this machine's 2 cores:
#  1. `preprocess` throughput and peak RSS at 10k and 100k records (PTB-XL layout at 100 Hz, the
#     cheapest to keep on disk: 24 KB a record) and at 10k Challenge records (.mat at 500 and 257 Hz,
#     10-20 s: the new reader, resampling every record): records/s and peak RSS per size -- flat
#     RSS means memory does not grow with the number of records.
#  2. `pretrain` (2 ranks, tiny) reading the 100k-record file (~4.8 GB) inside a memory cgroup capped
#     well below the file size (CAP_MB=1400 MB, page cache included; the two ranks hold ~1.2 GB
#     themselves, so ~200 MB is left for caching a 4.6 GB file), against the same run uncapped, each
#     after dropping the page cache; and the disk's own rate for the same random single-record reads
#     (h5py, capped, cold cache) -- the reference the capped run may not fall below.
# Needs root (cgroup v1 memory controller, /proc/sys/vm/drop_caches). Prints one table.
#   bash bench/ingest_scale.sh [ecgdist=build/launcher/ecgdist] [records=100000] [workdir=/tmp/ingest-scale]
set -euo pipefail
ecgdist=$(realpath "${1:-build/launcher/ecgdist}")
big=${2:-100000}
work=${3:-/tmp/ingest-scale}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work"
cd "$work"
cg=/sys/fs/cgroup/memory/ecgdist-ingest-bench
cleanup() { [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true; }
trap cleanup EXIT

# run LABEL CMD...: wall seconds and peak RSS (GNU time's maximum resident set size, KiB).
run() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time.$label" "$@" > "$work/log.$label" 2>&1 ||
    { echo "FAILED: $label"; tail -5 "$work/log.$label"; exit 1; }
  read -r secs rss < "$work/time.$label"
  echo "$secs $rss"
}

printf '%-44s %10s %10s %12s %12s\n' "step" "records" "seconds" "records/s" "peak RSS MB"
row() { printf '%-44s %10s %10.1f %12.0f %12.0f\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$(echo "$4 / 1024" | bc -l)"; }

cap_mb=${CAP_MB:-1400}   # the two ranks hold ~1.2 GB themselves: ~200 MB left for page cache
steps=${STEPS:-300}      # 300 x 32 records x 48 KB = 460 MB read: more than the cache may hold
for n in 10000 "$big"; do  # (reruns reuse the synthetic folders; SKIP_PREPROCESS=1 reuses the files)
  [ "${SKIP_PREPROCESS:-0}" = 1 ] && [ -f "ptbxl$n.h5" ] && continue
  [ -f "ptbxl$n/ptbxl_database.csv" ] || "$ecgdist" synth --records "$n" --sampling-rate 100 --out "ptbxl$n" > /dev/null
  read -r s r < <(run "ptbxl$n" "$ecgdist" preprocess --ptbxl "ptbxl$n" --sampling-rate 100 --target-rate 250 \
                  --duration 4 --threads 2 --out "ptbxl$n.h5")
  row "preprocess PTB-XL 100 Hz -> 250 Hz, 4 s" "$n" "$s" "$r"
done
[ -d challenge10000 ] || "$ecgdist" synth --format challenge --records 10000 --out challenge10000 > /dev/null
[ "${SKIP_PREPROCESS:-0}" = 1 ] || read -r s r < <(run challenge "$ecgdist" preprocess --source challenge --input challenge10000 --threads 2 \
                --out challenge10000.h5)
[ "${SKIP_PREPROCESS:-0}" = 1 ] || row "preprocess Challenge 500/257 Hz -> 250 Hz, 10 s" 10000 "$s" "$r"

file="ptbxl$big.h5"
size_mb=$(( $(stat -c %s "$file") / 1048576 ))
echo
echo "pretrain on $file ($size_mb MB), 2 ranks x 1 thread, tiny, batch 32, 900-sample crops, $steps steps"
# --max-steps stops like a preemption (checkpoint, exit 75): the rate is steps x 32 samples over the
# command's wall time, start-up included (the same in both runs).
pretrain() {  # OUT [cgroup]: samples/s
  local out=$1 procs=${2:-}
  sync; echo 3 > /proc/sys/vm/drop_caches
  local cmd=(mpirun -np 2 --oversubscribe --bind-to none "$ecgdist" pretrain --data "$file" --model tiny
             --batch-size 32 --crop-length 900 --threads 1 --epochs 1 --max-steps "$steps" --progress off --out "$out")
  rm -rf "$out"
  local t0 rc=0
  t0=$(date +%s.%N)
  if [ -n "$procs" ]; then
    bash -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$procs" "${cmd[@]}" > "$work/log.$out" 2>&1 || rc=$?
  else
    "${cmd[@]}" > "$work/log.$out" 2>&1 || rc=$?
  fi
  [ "$rc" = 75 ] || { echo "FAILED: pretrain $out exited $rc" >&2; tail -5 "$work/log.$out" >&2; exit 1; }
  echo "$steps * 32 / ($(date +%s.%N) - $t0)" | bc -l
}
free_sps=$(pretrain pre-free)
mkdir -p "$cg"
echo $((cap_mb * 1048576)) > "$cg/memory.limit_in_bytes"
capped_sps=$(pretrain pre-capped "$cg")
peak_mb=$(( $(cat "$cg/memory.max_usage_in_bytes") / 1048576 ))
failcnt=$(cat "$cg/memory.failcnt")  # times the cap was hit (page cache reclaimed)
# The disk's rate for the same access pattern: random whole records, cold cache, inside the cap.
sync; echo 3 > /proc/sys/vm/drop_caches
disk_rps=$(bash -c 'echo $$ > "$0/cgroup.procs"; exec /usr/bin/python3 -c "
import h5py, random, time, sys
f = h5py.File(sys.argv[1], \"r\"); s = f[\"signals\"]; n = s.shape[0]
random.seed(0); idx = [random.randrange(n) for _ in range(3000)]
t = time.time()
for i in idx: s[i]
print(len(idx) / (time.time() - t))
" "$1"' "$cg" "$file")
printf '%-44s %12.1f\n' "pretrain samples/s, no cap (cold cache)" "$free_sps"
printf '%-44s %12.1f\n' "pretrain samples/s, capped" "$capped_sps"
printf '%-44s %12.0f\n' "cgroup peak usage MB (cap $cap_mb)" "$peak_mb"
printf "%-44s %12s\n" "times the cap was hit (memory.failcnt)" "$failcnt"
printf '%-44s %12.0f\n' "disk: random records/s, capped, cold" "$disk_rps"
printf '%-44s %12.2f\n' "capped / uncapped" "$(echo "$capped_sps / $free_sps" | bc -l)"
