#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up (packages + Release build), then CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure -j"${CTEST_JOBS:-2}" "$@"
