#!/usr/bin/env bash
# End-to-end test of the SLURM templates on a real single-node SLURM cluster (localhost):
#   1. starts munged + slurmctld + slurmd in a temp dir (tests/slurm/slurm_cluster.sh) and runs a
#      trivial `sbatch --wrap hostname` job;
#   2. makes a small synthetic PTB-XL HDF5 file with `ecgdist synth` + `ecgdist preprocess`;
#   3. submits the UNCHANGED slurm/ecgdist-cpu.sbatch with 2 tasks: asserts the job completes,
#      results.json is valid, and the Prometheus file_sd target files of both ranks appeared
#      during the run (and served /metrics) and were removed at the end;
#   4. submits it again with the same settings, preempts it (`scancel --signal=USR1 --batch`)
#      while it trains, and asserts it checkpointed, was requeued (Restarts=1), resumed from the
#      checkpoint and finished with the same results.json metrics as the uninterrupted run;
#   4b. runs `ecgdist pretrain` through the same template (COMMAND=pretrain);
#   5. runs a 2-cell slurm/ecgdist-sweep.sbatch array job from a grid file and collects it
#      (`ecgdist sweep --collect`).
# Daemons are stopped by PID on every exit path (trap EXIT). Prints per-phase timings.
#
# Usage: ECGDIST_BIN=build/launcher/ecgdist bash tests/slurm/slurm_test.sh
#   LAUNCHER=srun|mpirun  how the template starts the ranks [srun]
#   METRICS_PORT=0        run without the metrics endpoint (skips the file_sd checks; diagnosis only)
#   SLURM_TEST_KEEP=1     keep the temp dir (cluster logs, run dirs) for inspection
# Exit status: 0 pass, 1 fail, 77 skip (SLURM or munge not installed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
template="$repo/slurm/ecgdist-cpu.sbatch"
# shellcheck source=tests/slurm/slurm_cluster.sh
source "$here/slurm_cluster.sh"

for tool in slurmctld slurmd munged sbatch scontrol; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not installed (Debian packages slurm-wlm and munge)"
    exit 77
  fi
done
ECGDIST_BIN=${ECGDIST_BIN:-$repo/build/launcher/ecgdist}
[ -x "$ECGDIST_BIN" ] || { echo "FAIL: ECGDIST_BIN=$ECGDIST_BIN is not an executable"; exit 1; }
ECGDIST_BIN=$(readlink -f "$ECGDIST_BIN")
LAUNCHER=${LAUNCHER:-srun}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecgdist-slurm-XXXXXX")
chmod 755 "$tmp"
finish() {
  local rc=$?
  cluster_stop
  if [ "$rc" -ne 0 ] || [ -n "${SLURM_TEST_KEEP:-}" ]; then
    echo "slurm_test: kept $tmp for inspection"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap finish EXIT
# A killed test (CTest timeout) must still stop its daemons: turn the signal into an exit.
trap 'exit 143' TERM INT HUP

t_start=$(date +%s.%N)
phase_start=$t_start
timing() {  # prints the seconds since the previous call, labelled
  local now
  now=$(date +%s.%N)
  printf 'slurm_test: timing %-28s %6.1f s\n' "$1" "$(echo "$now - $phase_start" | bc)"
  phase_start=$now
}
fail() {
  echo "FAIL: $*"
  exit 1
}
show_job_log() { echo "----- job log $1"; cat "$1" 2>/dev/null || true; echo "-----"; }

# --- 0. the GPU template is the CPU one with another backend, device and default precision (only
# the CPU one can run here).
if ! diff <(sed -n '/^set -uo pipefail/,$p' "$template") \
  <(sed -n '/^set -uo pipefail/,$p' "$repo/slurm/ecgdist-gpu.sbatch" | sed -e 's/^BACKEND=nccl$/BACKEND=mpi/' -e 's/^DEVICE=cuda$/DEVICE=cpu/' \
    -e 's/^PRECISION=${PRECISION:-bf16}$/PRECISION=${PRECISION:-fp32}/'); then
  fail "slurm/ecgdist-gpu.sbatch's script body drifted from slurm/ecgdist-cpu.sbatch's"
fi
grep -q '^BACKEND=nccl$' "$repo/slurm/ecgdist-gpu.sbatch" || fail "GPU template does not use nccl"

# --- 1. cluster up, trivial job.
cluster_start "$tmp/cluster"
timing "cluster start"
id=$(sbatch --parsable -o "$tmp/hostname-%j.out" --wrap hostname)
state=$(wait_job_state "$id" 60 COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL) ||
  fail "hostname job $id stuck in state '$state'"
[ "$state" = COMPLETED ] || fail "hostname job $id ended $state: $(cat "$tmp/hostname-$id.out")"
grep -qx "$(hostname -s)" "$tmp/hostname-$id.out" ||
  grep -q "$(hostname)" "$tmp/hostname-$id.out" || fail "hostname job printed $(cat "$tmp/hostname-$id.out")"
timing "sbatch --wrap hostname"

# --- 2. data.
"$ECGDIST_BIN" synth --out "$tmp/ptbxl" --records "${SLURM_TEST_RECORDS:-120}" --sampling-rate 500 \
  --seed 7 >"$tmp/synth.log" 2>&1 || { cat "$tmp/synth.log"; fail "ecgdist synth failed"; }
"$ECGDIST_BIN" preprocess --ptbxl "$tmp/ptbxl" --out "$tmp/ptbxl.h5" --sampling-rate 500 \
  >"$tmp/preprocess.log" 2>&1 || { cat "$tmp/preprocess.log"; fail "ecgdist preprocess failed"; }
timing "synth + preprocess"

# --- the template's settings, shared by both training jobs (sbatch exports the environment).
export ECGDIST_BIN DATA="$tmp/ptbxl.h5" TASK=superdiagnostic RECIPE=post-train RUN_ROOT="$tmp/runs"
export LAUNCHER OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
# LAUNCHER=mpirun: the checkout's tune file (sbatch runs from the test's cwd, not the checkout).
export MPI_TUNE="$repo/slurm/openmpi-mca.conf"
common_args="--model tiny --lp-epochs 1 --batch-size 16 --bootstrap 20 --progress-interval 1 \
--metrics-bind 127.0.0.1"
export EXTRA_ARGS="$common_args --epochs 2"
mkdir -p "$RUN_ROOT"
sd_dir="$RUN_ROOT/prometheus-sd"

# Submits the real template with 2 ranks on the one node; prints the job id.
submit() {
  sbatch --parsable --job-name="$1" --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=10 \
    --output="$RUN_ROOT/%x-%j.out" "$template"
}

# How many file_sd target files of job $1 exist.
sd_files_of() { { find "$sd_dir" -name "ecgdist-$1-*" 2>/dev/null || true; } | wc -l; }

# Validates results.json and prints its test macro AUROC.
check_results() {
  python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
test = r["test"]
for key in ("macro_auroc", "macro_auprc"):
    v = test[key]
    v = v["value"] if isinstance(v, dict) else v
    assert isinstance(v, (int, float)) and 0.0 <= v <= 1.0, (key, v)
print(test["macro_auroc"]["value"] if isinstance(test["macro_auroc"], dict) else test["macro_auroc"])
EOF
}

# --- 3. uninterrupted run.
job_a=$(submit uninterrupted)
log_a="$RUN_ROOT/uninterrupted-$job_a.out"
run_a="$RUN_ROOT/uninterrupted-$job_a"
state=$(wait_job_state "$job_a" 60 RUNNING COMPLETED FAILED) || fail "job $job_a never started ($state)"
# While it runs: both ranks' file_sd target files must appear, name this job, and point at a
# /metrics endpoint that answers.
seen_sd=0
scraped=0
for ((i = 0; i < 900; i++)); do
  state=$(job_state "$job_a")
  if [ "$seen_sd" -eq 0 ] && [ -f "$sd_dir/ecgdist-$job_a-rank0.json" ] &&
    [ -f "$sd_dir/ecgdist-$job_a-rank1.json" ]; then
    seen_sd=1
    target=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); \
assert d[0]["labels"]["slurm_job_id"]==sys.argv[2], d; print(d[0]["targets"][0])' \
      "$sd_dir/ecgdist-$job_a-rank0.json" "$job_a") || fail "bad file_sd target file"
    if python3 -c 'import sys, urllib.request as u; \
sys.stdout.write(u.urlopen("http://" + sys.argv[1] + "/metrics", timeout=5).read().decode())' \
      "$target" 2>/dev/null | grep -q '^ecgdist_'; then scraped=1; fi
  fi
  case "$state" in RUNNING | PENDING | CONFIGURING | COMPLETING) ;; *) break ;; esac
  sleep 0.2
done
timing "uninterrupted job"
[ "$state" = COMPLETED ] || { show_job_log "$log_a"; fail "job $job_a ended in state $state"; }
if [ "${METRICS_PORT:-}" = 0 ]; then
  echo "slurm_test: METRICS_PORT=0: metrics endpoint and file_sd checks not run"
else
  [ "$seen_sd" -eq 1 ] || { show_job_log "$log_a"; fail "file_sd target files never appeared in $sd_dir"; }
  [ "$scraped" -eq 1 ] || { show_job_log "$log_a"; fail "the target in the file_sd file served no ecgdist_ metrics"; }
  echo "slurm_test: file_sd target files appeared and their targets served ecgdist_ metrics"
fi
left=$(sd_files_of "$job_a")
[ "$left" -eq 0 ] || fail "$left file_sd target files of job $job_a left behind in $sd_dir"
for f in results.json history.csv test_predictions.csv best.ckpt; do
  [ -s "$run_a/$f" ] || { show_job_log "$log_a"; fail "uninterrupted run has no $f"; }
done
auroc_a=$(check_results "$run_a/results.json") || fail "invalid $run_a/results.json"
echo "slurm_test: uninterrupted job $job_a COMPLETED, test macro AUROC $auroc_a"

# --- 4. preempted run: same settings, signalled while it trains.
job_b=$(submit preempted)
log_b="$RUN_ROOT/preempted-$job_b.out"
run_b="$RUN_ROOT/preempted-$job_b"
state=$(wait_job_state "$job_b" 60 RUNNING COMPLETED FAILED) || fail "job $job_b never started ($state)"
# Signal once the ranks are past their first training step (ecgdist's progress lines), so the
# stop lands mid-training; the batch shell's trap forwards it to the job step.
for ((i = 0; i < 600; i++)); do
  grep -qE "${SLURM_TEST_STEP_PATTERN:-step [1-9]}" "$log_b" 2>/dev/null && break
  [ "$(job_state "$job_b")" = RUNNING ] || break
  sleep 0.2
done
[ "$(job_state "$job_b")" = RUNNING ] || { show_job_log "$log_b"; fail "job $job_b ended before it could be preempted"; }
scancel --signal=USR1 --batch "$job_b"
timing "preempted job: until signal"
restarts=0
for ((i = 0; i < 1500; i++)); do
  state=$(job_state "$job_b")
  r=$(job_field "$job_b" Restarts)
  [ -n "$r" ] && restarts=$r
  case "$state" in RUNNING | PENDING | CONFIGURING | COMPLETING | REQUEUED) ;; *) break ;; esac
  sleep 0.2
done
timing "preempted job: requeue + finish"
[ "$state" = COMPLETED ] || { show_job_log "$log_b"; fail "preempted job $job_b ended in state $state"; }
[ "$restarts" = 1 ] || { show_job_log "$log_b"; fail "job $job_b: Restarts=$restarts, expected 1"; }
grep -q "ranks checkpointed and exited 75" "$log_b" ||
  { show_job_log "$log_b"; fail "job $job_b: the step did not exit 75 after the stop signal"; }
grep -q "restart 1:" "$log_b" || { show_job_log "$log_b"; fail "job $job_b: no second start logged"; }
grep -qiE "${SLURM_TEST_RESUME_PATTERN:-resum.*step-[0-9]+\.ckpt}" "$log_b" ||
  { show_job_log "$log_b"; fail "job $job_b: the requeued run did not resume from a checkpoint"; }
ls "$run_b"/checkpoints/*.ckpt >/dev/null 2>&1 || fail "job $job_b: no checkpoint in $run_b/checkpoints"
check_results "$run_b/results.json" >/dev/null || fail "invalid $run_b/results.json"
left=$(sd_files_of "$job_b")
[ "$left" -eq 0 ] || fail "$left file_sd target files of job $job_b left behind in $sd_dir"

# Same metrics as the uninterrupted run: every number under results.json's "test" section (macro
# and per-label AUROC/AUPRC, CIs, counts), the best validation AUROC and epoch, the classes and
# data counts; nothing about timings.
python3 - "$run_a/results.json" "$run_b/results.json" <<'EOF' || fail "preempted run's metrics differ"
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
TIMING = ("time", "second", "throughput", "per_s", "duration", "wall", "date", "host")
diffs, compared = [], 0
def walk(x, y, path):
    global compared
    if any(t in path.lower() for t in TIMING):
        return
    if isinstance(x, dict):
        if not isinstance(y, dict) or set(x) != set(y):
            diffs.append(f"{path}: keys {sorted(x)} vs {sorted(y) if isinstance(y, dict) else y}")
            return
        for k in x:
            walk(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        if not isinstance(y, list) or len(x) != len(y):
            diffs.append(f"{path}: list lengths differ")
            return
        for i, (u, v) in enumerate(zip(x, y)):
            walk(u, v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        compared += 1
        if not (isinstance(y, (int, float)) and (x == y or math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9))):
            diffs.append(f"{path}: {x} vs {y}")
    elif x != y:
        diffs.append(f"{path}: {x!r} vs {y!r}")
for section in ("test", "val", "best_val_macro_auroc", "best_stage", "best_epoch", "epochs_run",
                "classes", "data"):
    if section in a or section in b:
        walk(a.get(section), b.get(section), section)
if diffs:
    print("\n".join(diffs[:40]))
    sys.exit(1)
print(f"slurm_test: {compared} metric values of the preempted run equal the uninterrupted run's")
EOF
echo "slurm_test: preempted job $job_b checkpointed, requeued (Restarts=$restarts), resumed, same metrics"

# --- 4b. pretraining through the same template (COMMAND=pretrain): the encoder lands in RUN_DIR.
job_p=$(COMMAND=pretrain EXTRA_ARGS="--model tiny --epochs 2 --batch-size 16 --crop-length 1200 \
--progress-interval 1 --metrics-bind 127.0.0.1" submit pretrain)
state=$(wait_job_state "$job_p" 180 COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL) ||
  { show_job_log "$RUN_ROOT/pretrain-$job_p.out"; fail "pretraining job $job_p stuck in state '$state'"; }
[ "$state" = COMPLETED ] || { show_job_log "$RUN_ROOT/pretrain-$job_p.out"; fail "pretraining job $job_p ended $state"; }
[ -s "$RUN_ROOT/pretrain-$job_p/encoder.ckpt" ] || fail "pretraining job $job_p wrote no encoder.ckpt"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["kind"] == "pretraining" and r["world_size"] == 2, r' \
  "$RUN_ROOT/pretrain-$job_p/results.json" || fail "pretraining job $job_p: bad results.json"
[ "$(sd_files_of "$job_p")" -eq 0 ] || fail "file_sd target files of pretraining job $job_p left behind"
timing "pretraining job"
echo "slurm_test: pretraining job $job_p COMPLETED with 2 ranks, encoder written"

# --- 5. a 2-cell sweep (post-train and its w/o-SD ablation) from a grid file, 1 rank each so both
# cells run side by side on the 2 CPUs, through the real sweep script, then `ecgdist sweep --collect`.
sweep_root="$tmp/sweep"
# Half the training set and one fine-tuning epoch keep the cells short.
cat >"$tmp/grid.json" <<EOF2
{"data": "$DATA", "tasks": ["superdiagnostic"], "variants": ["post-train", "wo-sd"], "fractions": [0.5],
 "seeds": [0], "model": "tiny", "lp_epochs": 1,
 "train_args": ["--batch-size", "16", "--bootstrap", "20", "--epochs", "1"]}
EOF2
n_cells=$("$ECGDIST_BIN" sweep "$tmp/grid.json" --out "$sweep_root" --count)
[ "$n_cells" = 2 ] || fail "ecgdist sweep --count said $n_cells, not 2"
sweep_id=$(GRID="$tmp/grid.json" SWEEP_ROOT="$sweep_root" SWEEP_TEMPLATE="$template" METRICS_SD_DIR="$sd_dir" \
  EXTRA_ARGS="--progress-interval 1 --metrics-bind 127.0.0.1" \
  sbatch --parsable --array=0-$((n_cells - 1)) --nodes=1 --ntasks-per-node=1 --cpus-per-task=1 --time=10 \
  --output="$tmp/sweep-%A_%a.out" "$repo/slurm/ecgdist-sweep.sbatch")
for ((i = 0; i < 1500; i++)); do
  [ -z "$(squeue -h -j "$sweep_id" -o %i 2>/dev/null)" ] && break
  sleep 0.2
done
timing "2-cell sweep"
for cell_dir in "$sweep_root"/superdiagnostic/{post-train,wo-sd}/frac-0.5/seed-0; do
  [ -s "$cell_dir/results.json" ] || { cat "$tmp"/sweep-*.out; fail "sweep cell $cell_dir has no results.json"; }
done
"$ECGDIST_BIN" sweep "$tmp/grid.json" --out "$sweep_root" --collect >"$tmp/collect.txt" || fail "ecgdist sweep --collect failed"
cat "$tmp/collect.txt"
grep -q "2/2 cells done" "$tmp/collect.txt" || fail "ecgdist sweep --collect did not see 2 finished cells"
python3 - "$sweep_root/sweep.csv" "$sweep_root" <<'EOF2' || fail "sweep.csv or a cell's settings are wrong"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["variant"] for r in rows] == ["post-train", "wo-sd"], rows
assert all(r["status"] == "done" and 0 <= float(r["test_macro_auroc"]) <= 1 for r in rows), rows
assert all(r["fraction"] == "0.5" and r["seed"] == "0" for r in rows), rows
wo_sd = json.load(open(sys.argv[2] + "/superdiagnostic/wo-sd/frac-0.5/seed-0/results.json"))
assert wo_sd["settings"]["drop_path"] == 0 and wo_sd["settings"]["lp_epochs"] == 1, wo_sd["settings"]
assert wo_sd["settings"]["train_fraction"] == 0.5, wo_sd["settings"]
EOF2
printf 'slurm_test: PASS in %.1f s (launcher %s)\n' "$(echo "$(date +%s.%N) - $t_start" | bc)" "$LAUNCHER"
