#!/usr/bin/env bash
# Multi-node behaviour of `mpirun ... ecgdist train` on namespaced nodes over real TCP
# (tests/cluster/netns_cluster.sh), one case per invocation (each is a CTest entry, label
# `cluster`):
#
#   data         makes the synthetic data set into $CLUSTER_TEST_DATA (the others' CTest fixture)
#   equivalence  3 nodes x 1 rank == 1 process at the same global batch: test metrics, history
#                and test predictions within the 1-vs-2-rank test's tolerance (train_cli_test)
#   partition    one node's link goes down mid-training: mpirun and every ecgdist rank on every
#                node are gone within 30 s, exit status != 0, the lost node is named
#   node-kill    every process of one node is SIGKILLed mid-training: the same
#   resume       a checkpointed 3-node run loses a node; `--resume auto` on the 2 nodes left
#                continues from the newest checkpoint exactly as a 2-node run started from a copy
#                of that checkpoint does (identical results.json test metrics, history and
#                predictions), at the checkpoint's stage/epoch/step; and as an uninterrupted
#                single-process run within the equivalence tolerance
#   slow-link    100 Mbit/s on every link (tc tbf, both directions): the run finishes without the
#                watchdog firing; prints the samples/s
#
# Usage: bash tests/cluster/cluster_test.sh CASE [ECGDIST_BIN]
#   CLUSTER_TEST_KEEP=1  keep the temp dir (logs, run dirs)
#   CLUSTER_TEST_LIMIT   seconds before the case stops itself (TERM, teardown) [200]
# Exit status: 0 pass, 1 fail, 77 skip (not root / no network namespaces).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cluster/netns_cluster.sh disable=SC2119
source "$here/netns_cluster.sh"

case_name=${1:?usage: cluster_test.sh equivalence|partition|node-kill|resume|slow-link [ECGDIST_BIN]}
ECGDIST_BIN=${2:-${ECGDIST_BIN:-$NCL_REPO/build/launcher/ecgdist}}
[ -x "$ECGDIST_BIN" ] || { echo "FAIL: ECGDIST_BIN=$ECGDIST_BIN is not an executable"; exit 1; }
ECGDIST_BIN=$(readlink -f "$ECGDIST_BIN")
PY=/usr/bin/python3

ncl_check || { echo "SKIP: cannot make namespaced nodes here"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecgdist-cluster-XXXXXX")
chmod 755 "$tmp"
# The case's own deadline, below CTest's TIMEOUT (240 s): USR2 runs the traps, which tear the
# cluster down (a CTest timeout kills without a trap; the next `up` removes what was left). The
# sleeper holds no output open (CTest waits for the pipe to close).
( exec >/dev/null 2>&1; sleep "${CLUSTER_TEST_LIMIT:-200}"; kill -USR2 $$ ) &
deadline_pid=$!
disown "$deadline_pid"  # no "Killed" job report when finish() ends it
finish() {
  local rc=$? p sleeper
  trap - USR2
  # The deadline's subshell first (killed, it cannot send USR2), then its sleep.
  sleeper=$(pgrep -P "$deadline_pid")
  kill -9 "$deadline_pid" 2>/dev/null
  [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null
  # Background jobs of this shell (a single-process run, mpirun): a TERM must not leave them.
  for p in $(jobs -p); do [ "$p" = "$deadline_pid" ] || kill -9 "$p" 2>/dev/null; done
  ncl_down
  if [ "$rc" -ne 0 ] || [ -n "${CLUSTER_TEST_KEEP:-}" ]; then
    echo "cluster_test: kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 143' TERM INT HUP
trap 'echo "cluster_test: over ${CLUSTER_TEST_LIMIT:-200} s, stopping"; exit 124' USR2

t_start=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) - ${1:-$t_start}" | bc; }
fail() {
  echo "FAIL ($case_name): $*"
  exit 1
}
show() { echo "----- $1"; tail -n "${2:-40}" "$1" 2>/dev/null; echo "-----"; }

# Small synthetic PTB-XL (120 records at 100 Hz: 96 train, 12 val, 12 test), made once by the
# `data` case (a CTest fixture) into $CLUSTER_TEST_DATA, else here.
DATA=$tmp/ptbxl.h5
make_data_into() {
  local dir=$1
  mkdir -p "$dir"
  "$ECGDIST_BIN" synth --out "$dir/ptbxl" --records 120 --sampling-rate 100 --seed 3 \
    >"$dir/synth.log" 2>&1 || { cat "$dir/synth.log"; fail "ecgdist synth"; }
  "$ECGDIST_BIN" preprocess --ptbxl "$dir/ptbxl" --out "$dir/ptbxl.h5.tmp" --sampling-rate 100 \
    --threads 2 >"$dir/preprocess.log" 2>&1 || { cat "$dir/preprocess.log"; fail "ecgdist preprocess"; }
  mv "$dir/ptbxl.h5.tmp" "$dir/ptbxl.h5"
}
make_data() {
  if [ -n "${CLUSTER_TEST_DATA:-}" ] && [ -s "$CLUSTER_TEST_DATA/ptbxl.h5" ]; then
    DATA=$CLUSTER_TEST_DATA/ptbxl.h5
  else
    make_data_into "$tmp"
  fi
  TRAIN[2]=$DATA
}

# The training flags shared by every run: tiny model, 225-sample crops (0.9 s at 250 Hz), one
# thread per rank, no bootstrap cost: a few seconds per epoch on a busy 2-core machine.
TRAIN=(train --data "$DATA" --task superdiagnostic --model tiny --crop-length 225 --threads 1
  --bootstrap 20 --eval-crops 2 --backend mpi --device cpu --progress lines --progress-interval 1)

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# train_on N LOG ARGS...: `mpirun -np N ecgdist train ARGS` on the cluster, in the background;
# sets MP_PID. -x passes the thread settings to the ranks (the agent, like ssh, starts the
# daemons with an empty environment).
train_on() {
  local n=$1 log=$2
  shift 2
  NCL_TIMEOUT=${NCL_TIMEOUT:-240} ncl_mpirun -np "$n" -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS \
    "$ECGDIST_BIN" "${TRAIN[@]}" "$@" >"$log" 2>&1 &
  MP_PID=$!
}

# wait_for PATTERN FILE TIMEOUT_S: polls (0.2 s) until FILE has a line matching PATTERN or mpirun
# has ended.
wait_for() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    grep -qE "$1" "$2" 2>/dev/null && return 0
    kill -0 "$MP_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# ecgdist processes on the whole machine that belong to this cluster (any of its namespaces).
ranks_alive() {
  local p n=0
  for p in $(ncl_pids); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = ecgdist ] && n=$((n + 1))
  done
  echo "$n"
}

# Compares two run dirs: test metrics, history (train loss, val metrics) and test predictions.
# compare_runs A B TOL: TOL=0 demands equality, else absolute tolerance on metrics/probabilities.
compare_runs() {
  "$PY" - "$1" "$2" "$3" <<'EOF'
import csv, json, math, sys
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
ra, rb = (json.load(open(f"{d}/results.json")) for d in (a, b))
bad = []
def close(x, y):
    return x == y if tol == 0 else abs(x - y) <= tol
for k in ("macro_auroc", "macro_auprc"):
    x, y = ra["test"][k], rb["test"][k]
    x = x["value"] if isinstance(x, dict) else x
    y = y["value"] if isinstance(y, dict) else y
    if not close(x, y):
        bad.append(f"test {k}: {x} vs {y}")
if tol == 0:
    for k in ("test", "best_epoch", "best_stage"):
        if ra.get(k) != rb.get(k):
            bad.append(f"results.json {k} differs")
ha, hb = (list(csv.DictReader(open(f"{d}/history.csv"))) for d in (a, b))
if [(r["epoch"], r["stage"]) for r in ha] != [(r["epoch"], r["stage"]) for r in hb]:
    bad.append(f"history rows differ: {len(ha)} vs {len(hb)}")
else:
    for x, y in zip(ha, hb):
        for k in ("train_loss", "val_macro_auroc", "val_macro_auprc", "lr"):
            if not close(float(x[k]), float(y[k])):
                bad.append(f"history epoch {x['epoch']} stage {x['stage']} {k}: {x[k]} vs {y[k]}")
pa, pb = (list(csv.reader(open(f"{d}/test_predictions.csv"))) for d in (a, b))
worst = 0.0
if len(pa) != len(pb) or pa[0] != pb[0]:
    bad.append("test_predictions.csv shapes differ")
else:
    for x, y in zip(pa[1:], pb[1:]):
        if x[0] != y[0]:
            bad.append(f"prediction rows out of order: {x[0]} vs {y[0]}")
            break
        worst = max([worst] + [abs(float(u) - float(v)) for u, v in zip(x[1:], y[1:])])
    if not close(worst, 0.0):
        bad.append(f"test predictions differ by up to {worst}")
print(f"compared test metrics, {len(ha)} history rows, {len(pa) - 1} prediction rows; "
      f"largest prediction difference {worst:.3g} (tolerance {tol})")
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
EOF
}

json_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# After a fault: within LIMIT s of T0, mpirun has exited non-zero and no process is left in any of
# the cluster's namespaces (daemons and ranks of every node). Prints the times.
assert_all_gone() {
  local t0=$1 limit=$2 log=$3 rc gone_mp="" gone_all="" i
  for ((i = 0; i < limit * 5; i++)); do
    [ -z "$gone_mp" ] && ! kill -0 "$MP_PID" 2>/dev/null && gone_mp=$(elapsed "$t0")
    if [ -n "$gone_mp" ] && [ -z "$(ncl_pids)" ]; then
      gone_all=$(elapsed "$t0")
      break
    fi
    sleep 0.2
  done
  if [ -z "$gone_all" ]; then
    echo "still alive $limit s after the fault:"
    for i in $(ncl_pids); do echo "  $i $(tr '\0' ' ' <"/proc/$i/cmdline" 2>/dev/null | cut -c1-120)"; done
    show "$log" 60
    fail "processes left $limit s after the fault (mpirun gone after: ${gone_mp:-never})"
  fi
  wait "$MP_PID"
  rc=$?
  echo "cluster_test: mpirun exited $rc after ${gone_mp} s; every process of every node gone after ${gone_all} s"
  [ "$rc" -ne 0 ] || { show "$log"; fail "mpirun exited 0 after the fault"; }
}

case "$case_name" in
  data)
    [ -n "${CLUSTER_TEST_DATA:-}" ] || fail "set CLUSTER_TEST_DATA to the folder to make"
    rm -rf "$CLUSTER_TEST_DATA"
    make_data_into "$CLUSTER_TEST_DATA"
    ;;

  equivalence)
    make_data
    ncl_up 3 || fail "cluster up"
    args=(--recipe fine-tune --epochs 1 --batch-size 12)
    t=$(date +%s.%N)
    # In the background (like every run here), so that a TERM is acted on at once.
    "$ECGDIST_BIN" "${TRAIN[@]}" "${args[@]}" --out "$tmp/np1" >"$tmp/np1.log" 2>&1 &
    wait $! || { show "$tmp/np1.log"; fail "single-process run"; }
    echo "cluster_test: 1 process: $(elapsed "$t") s"
    t=$(date +%s.%N)
    train_on 3 "$tmp/np3.log" "${args[@]}" --out "$tmp/np3"
    wait "$MP_PID" || { show "$tmp/np3.log"; fail "3-node run"; }
    echo "cluster_test: 3 nodes: $(elapsed "$t") s"
    [ "$(json_field "$tmp/np3/results.json" world_size)" = 3 ] || fail "3-node run has world_size != 3"
    # Same samples per step, same crops and drop-path masks: only the summation order differs.
    compare_runs "$tmp/np1" "$tmp/np3" 2e-3 || fail "3 nodes differ from 1 process"
    ;;

  partition | node-kill)
    make_data
    ncl_up 3 || fail "cluster up"
    # A long run; --timeout 20 as the watchdog a job would use. Rank 0 runs on node 1.
    train_on 3 "$tmp/run.log" --recipe fine-tune --epochs 20 --batch-size 12 --timeout 20 --out "$tmp/run"
    wait_for 'step [2-9]' "$tmp/run.log" 120 || { show "$tmp/run.log"; fail "training did not start"; }
    t0=$(date +%s.%N)
    if [ "$case_name" = partition ]; then
      victim=3
      ncl_cut "$victim"
    else
      victim=2
      ncl_kill_node "$victim"
    fi
    echo "cluster_test: $case_name of node $victim ($(ncl_addr "$victim")) at $(date +%T.%N | cut -c1-12)"
    assert_all_gone "$t0" 30 "$tmp/run.log"
    grep -qF "$(ncl_addr "$victim")" "$tmp/run.log" ||
      { show "$tmp/run.log" 60; fail "the output does not name the lost node $(ncl_addr "$victim")"; }
    echo "cluster_test: mpirun's report:"
    grep -E "lost communication|Remote daemon|exited on signal|noticed that|exceeded --timeout|error" \
      "$tmp/run.log" | head -8 | sed 's/^/  | /'
    ;;

  resume)
    make_data
    ncl_up 3 || fail "cluster up"
    # Checkpoints every 2 steps (8 steps per epoch: batch 12, 96 training records).
    args=(--recipe fine-tune --epochs 2 --batch-size 12 --checkpoint-every 2 --timeout 20)
    train_on 3 "$tmp/lost.log" "${args[@]}" --out "$tmp/run"
    # Lose node 3 once a mid-epoch checkpoint exists and training has moved past it.
    for ((i = 0; i < 600; i++)); do
      ls "$tmp/run/checkpoints/"step-*.ckpt >/dev/null 2>&1 && break
      kill -0 "$MP_PID" 2>/dev/null || break
      sleep 0.2
    done
    ls "$tmp/run/checkpoints/"step-*.ckpt >/dev/null 2>&1 || { show "$tmp/lost.log"; fail "no checkpoint appeared"; }
    sleep 1
    t0=$(date +%s.%N)
    ncl_kill_node 3
    assert_all_gone "$t0" 30 "$tmp/lost.log"
    [ -e "$tmp/run/results.json" ] && fail "the 3-node run finished before the node was lost"
    # shellcheck disable=SC2012  # names are step-N.ckpt
    newest=$tmp/run/checkpoints/$(cd "$tmp/run/checkpoints" && ls step-*.ckpt | sort -t- -k2 -n | tail -1)
    echo "cluster_test: node 3 lost; newest checkpoint $(basename "$newest")"
    # The reference: a fresh run dir holding only a copy of that checkpoint and of the best
    # validation model so far (which the run tests at its end), resumed on 2 nodes.
    mkdir -p "$tmp/ref/checkpoints"
    cp "$newest" "$tmp/ref/checkpoints/"
    [ ! -e "$tmp/run/best.ckpt" ] || cp "$tmp/run/best.ckpt" "$tmp/ref/"
    ncl_down
    ncl_up 2 || fail "cluster up (2 nodes)"
    train_on 2 "$tmp/resumed.log" "${args[@]}" --resume auto --out "$tmp/run"
    wait "$MP_PID" || { show "$tmp/resumed.log"; fail "resumed 2-node run"; }
    train_on 2 "$tmp/ref.log" "${args[@]}" --resume auto --out "$tmp/ref"
    wait "$MP_PID" || { show "$tmp/ref.log"; fail "reference 2-node run"; }
    line=$(grep -m1 "resuming from" "$tmp/resumed.log") || { show "$tmp/resumed.log"; fail "the 2-node run did not resume"; }
    echo "cluster_test: $line"
    grep -qF "$(basename "$newest")" <<<"$line" || fail "resumed from another checkpoint than $(basename "$newest")"
    grep -q "resuming from" "$tmp/ref.log" || fail "the reference run did not resume"
    [ "$(grep -m1 -o '(train.*)' "$tmp/resumed.log")" = "$(grep -m1 -o '(train.*)' "$tmp/ref.log")" ] ||
      fail "resumed at another stage/epoch/step than the reference"
    [ "$(json_field "$tmp/run/results.json" world_size)" = 2 ] || fail "resumed run has world_size != 2"
    compare_runs "$tmp/ref" "$tmp/run" 0 || fail "the run resumed after the loss differs from a 2-node run from the same checkpoint"
    # And it is the run that never lost a node, up to the summation order of the all-reduce
    # (the samples of a step do not depend on the world size): one process, no interruption.
    ncl_down
    "$ECGDIST_BIN" "${TRAIN[@]}" "${args[@]}" --out "$tmp/whole" >"$tmp/whole.log" 2>&1 &
    wait $! || { show "$tmp/whole.log"; fail "uninterrupted single-process run"; }
    compare_runs "$tmp/whole" "$tmp/run" 2e-3 || fail "the resumed run differs from an uninterrupted one"
    ;;

  slow-link)
    make_data
    ncl_up 3 100mbit || fail "cluster up"
    t=$(date +%s.%N)
    train_on 3 "$tmp/slow.log" --recipe fine-tune --epochs 1 --batch-size 12 --timeout 20 --out "$tmp/slow"
    wait "$MP_PID" || { show "$tmp/slow.log" 60; fail "the run over 100 Mbit/s links failed"; }
    grep -q "exceeded --timeout" "$tmp/slow.log" && fail "the watchdog fired"
    sps=$(json_field "$tmp/slow/results.json" samples_per_second)
    echo "cluster_test: 3 nodes at 100 Mbit/s: finished in $(elapsed "$t") s, $sps samples/s"
    grep -E "step [0-9]+/[0-9]+ \|" "$tmp/slow.log" | tail -1 | sed 's/^/  | /'
    # The shaper was in the path: what node 1's link carried each way, and how often tbf held
    # packets back (overlimits).
    for dir in "$(ncl_ns 1) eth0" "$(ncl_head) $(ncl_port 1)"; do
      read -r ns dev <<<"$dir"
      stats=$(ip netns exec "$ns" tc -s qdisc show dev "$dev" | grep -m1 -o 'Sent [0-9]* bytes.*overlimits [0-9]*')
      echo "cluster_test: tbf on $dev ($ns): $stats"
      [ "$(awk '{print $2}' <<<"$stats")" -gt 1000000 ] || fail "the shaped link carried almost nothing: $stats"
    done
    ;;

  *)
    fail "unknown case (equivalence|partition|node-kill|resume|slow-link)"
    ;;
esac
echo "cluster_test: $case_name PASS in $(elapsed) s"
