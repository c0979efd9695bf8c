#!/usr/bin/env bash
# The whole test suite on a fresh machine, in phases (CI has 90 minutes on a 2-core machine;
# each phase prints its time; docs/testing.md has the measured budget):
#   1. set-up: packages, then (while the Debian 13 root of phase 4 is prepared in the background:
#      mostly downloads and unpacking) the Release build (scripts/setup.sh)
#   2. CTest on that build (arguments go to CTest): every test that phase 3 does not run under the
#      sanitizers, i.e. all but the torch-free suite (CTest label `core`), plus that suite's SLURM
#      harness, which phase 3 leaves out; with ECGDIST_SKIP_SANITIZE=1, everything
#   3. the sanitizer build and the fuzzers (scripts/sanitize.sh): clang ASan + UBSan, then 60 s per
#      libFuzzer target. CI runs its `ci` scope (SANITIZE_SCOPE): the torch-free suite (minus the
#      SLURM harness) and all fuzzers, torch_save_fuzz driving the checkpoint reader;
#      `SANITIZE_SCOPE=full` (or running scripts/sanitize.sh by hand) adds the LibTorch suite.
#      ECGDIST_SKIP_SANITIZE=1 skips the phase (it says so).
#   4. the GPU-build check (scripts/check-cuda-build.sh: builds against CUDA LibTorch 2.6 + NCCL in a
#      cached Debian 13 root and runs the suite there on the CPU; docs/gpu.md).
#      ECGDIST_SKIP_CUDA_CHECK=1 skips it (it says so).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
phase_start=$t0
phase_done() {
  local now
  now=$(date +%s)
  echo "test.sh: $1 took $((now - phase_start)) s (total $((now - t0)) s)"
  phase_start=$now
}
bash scripts/setup.sh --packages-only
cuda_check=1
[ "${ECGDIST_SKIP_CUDA_CHECK:-0}" = 1 ] && cuda_check=0
prepare_pid=""
if [ "$cuda_check" = 1 ]; then
  # Its output goes to its own log (check-cuda-build.sh --prepare-root); phase 4 waits for it.
  bash scripts/check-cuda-build.sh --prepare-root >/dev/null 2>&1 &
  prepare_pid=$!
  echo "test.sh: preparing the Debian 13 root in the background (pid $prepare_pid)"
fi
bash scripts/setup.sh
phase_done "set-up (packages + Release build)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
selection=()
if [ "${ECGDIST_SKIP_SANITIZE:-0}" != 1 ]; then
  # Each test runs once in CI: the torch-free suite runs under ASan + UBSan in phase 3 (a stricter
  # build of the same sources; the Release-built libraries are still exercised here by the
  # LibTorch and MPI suites, the behaviour lock and the cluster tests). One CTest run, by number.
  numbers=$({ ctest --test-dir build -N -LE core; ctest --test-dir build -N -R '^SlurmHarness\.'; } |
            sed -n 's/^ *Test *#\([0-9]*\):.*/\1/p' | sort -un | paste -sd, -)
  [ -n "$numbers" ] || { echo "test.sh: no test selected for phase 2" >&2; exit 1; }
  selection=(-I "0,0,0,$numbers")
  echo "test.sh: phase 2 runs $(tr ',' '\n' <<<"$numbers" | wc -l) tests; the torch-free suite runs in phase 3"
fi
ctest --test-dir build --output-on-failure -j"${CTEST_JOBS:-2}" "${selection[@]}" "$@"
phase_done "CTest"
# Skipped phases say so, so that a skipped phase never reads as a pass.
if [ "${ECGDIST_SKIP_SANITIZE:-0}" = 1 ]; then
  echo "test.sh: WARNING: sanitizer build and fuzzing SKIPPED (ECGDIST_SKIP_SANITIZE=1)"
else
  SANITIZE_SCOPE=${SANITIZE_SCOPE:-ci} bash scripts/sanitize.sh
  phase_done "sanitizer build, unit tests and fuzzing (scope ${SANITIZE_SCOPE:-ci})"
fi
if [ "$cuda_check" = 0 ]; then
  echo "test.sh: WARNING: GPU-build check SKIPPED (ECGDIST_SKIP_CUDA_CHECK=1); not verified against CUDA LibTorch"
else
  prepare_rc=0
  wait "$prepare_pid" || prepare_rc=$?
  # A failed preparation is not fatal by itself: the check below takes the root from where it was
  # left (finishing the package stage) and fails with its own reason if it still cannot.
  prepare_log=${ECGDIST_CUDA_CACHE:-/var/cache/ecgdist}/prepare-root.log
  echo "test.sh: the background root preparation ended with exit code $prepare_rc (log $prepare_log)"
  [ "$prepare_rc" = 0 ] || tail -30 "$prepare_log" || true
  phase_done "waiting for the root"
  bash scripts/check-cuda-build.sh
  phase_done "GPU-build check"
fi
