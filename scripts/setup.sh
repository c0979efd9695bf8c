#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: installs every Debian package ecgdist needs
# (only those missing), then configures and builds Release into build/.
#   --packages-only   install the packages and stop (scripts/test.sh builds after starting the
#                     Debian 13 root's preparation, which needs debootstrap, in the background)
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES_ONLY=0
[ "${1:-}" = --packages-only ] && PACKAGES_ONLY=1

PACKAGES=(
  cmake g++ make pkg-config
  libtorch-dev libopenblas0-pthread   # without OpenBLAS LibTorch uses the reference BLAS (~20x slower)
  libopenmpi-dev openmpi-bin
  libhdf5-dev
  prometheus-cpp-dev libboost-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsoxr-dev libfftw3-dev libcsv-dev
  libzip-dev                          # checkpoint archives read with bounds (model/untrusted_zip.h)
  libgtest-dev libgmock-dev
  python3-torch python3-h5py python3-sklearn python3-numpy   # test oracles and the DDP reference
  prometheus                                                  # real server for monitoring tests
  slurm-wlm munge                                             # real single-node SLURM for tests
  debootstrap                           # the Debian 13 root of the GPU-build check (check-cuda-build.sh)
  clang-14 libclang-rt-14-dev llvm-14   # sanitizer build and libFuzzer (sanitize.sh, docs/testing.md)
  gnuplot-nox chromium                  # ecgdist report's figures and its headless-browser test (docs/report.md)
  ccache                                # rebuilds on the same machine (cache in ~/.cache/ccache, outside the checkout)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "$PACKAGES_ONLY" = 1 ] && exit 0

# The `release` preset (CMakePresets.json): build/, Release, ccache when installed.
JOBS=${JOBS:-$(nproc)}
cmake --preset release ${ECGDIST_CMAKE_ARGS:-}
cmake --build --preset release -j"$JOBS"
echo "setup: built $(pwd)/build/launcher/ecgdist"
