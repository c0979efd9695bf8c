#!/usr/bin/env bash
# GPU-build check without a GPU: builds ecgdist against Debian 13's CUDA LibTorch 2.6 and NCCL 2.22
# inside a cached Debian 13 (trixie) root, shows that the binary links libtorch_cuda and libnccl,
# then runs the test suite there on the CPU. What this proves and what it does not: docs/gpu.md.
#
# Needs root (debootstrap, chroot, bind mounts). Cached between runs, outside the repository:
#   ECGDIST_CUDA_CACHE  (default /var/cache/ecgdist)      build directories, logs
#   ECGDIST_TRIXIE_ROOT (default $ECGDIST_CUDA_CACHE/trixie-root)
# The Debian archive is the one this host's apt uses (read from /etc/apt at run time) unless
# ECGDIST_TRIXIE_MIRROR names another. Extra arguments go to ctest.
#
#   --prepare-root   only make (or check) the cached root, then stop: scripts/test.sh runs this in
#                    the background while the host builds, since the root's time is mostly
#                    downloads and unpacking. Its log is $CACHE/prepare-root.log.
# One run at a time per root (a lock file beside it): a check started while a --prepare-root run is
# still going waits for it, then finds the root complete (or finishes what it left).
set -euo pipefail
PREPARE_ONLY=0
if [ "${1:-}" = --prepare-root ]; then PREPARE_ONLY=1; shift; fi
cd "$(dirname "$0")/.."
SRC=$(pwd)
START=$(date +%s)

CACHE=${ECGDIST_CUDA_CACHE:-/var/cache/ecgdist}
ROOT=${ECGDIST_TRIXIE_ROOT:-$CACHE/trixie-root}
LOG=$CACHE/check-cuda-build.log
[ "$PREPARE_ONLY" = 0 ] || LOG=$CACHE/prepare-root.log
BASE_MARK=$ROOT/.ecgdist-base-complete   # debootstrap finished
DONE_MARK=$ROOT/.ecgdist-root-complete   # every package below installed
JOBS=${JOBS:-2}

fail() { echo "check-cuda-build: FAILED: $*" >&2; exit 1; }
say() { echo "check-cuda-build: [$(($(date +%s) - START))s] $*"; }
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot and bind mounts)"
mkdir -p "$CACHE"
# Everything from here on also goes to the log, which CI and people can read afterwards.
exec > >(tee "$LOG") 2>&1
exec 9>"$CACHE/.lock-$(basename "$ROOT")"
if ! flock -n 9; then
  say "another check-cuda-build.sh is using $ROOT: waiting for it"
  flock 9
  say "the other run has finished"
fi

# Debian 13 names (checked with apt-cache in the root). python3-torch-cuda rather than
# python3-torch: the CPU and CUDA builds of libtorch conflict, and the test oracles only need
# `import torch` on the CPU, which the CUDA build offers too.
PACKAGES=(
  g++ make cmake pkg-config
  libnccl-dev nvidia-cuda-toolkit
  libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev
  prometheus-cpp-dev libboost-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsoxr-dev libfftw3-dev libcsv-dev
  libzip-dev
  libgtest-dev libgmock-dev
  python3 python3-h5py python3-sklearn python3-numpy
  python3-setuptools python3-dev        # torch.compile's C++ code generation (bench/anchor: PyTorch 2.6 anchors)
  ccache                                # a rerun on the same machine rebuilds from /root/.cache/ccache in the root
)
# Installed after the cuDNN stand-in below (they depend on nvidia-cudnn).
TORCH_PACKAGES=(libtorch-cuda-dev python3-torch-cuda)

# Tests the root cannot run, because it has no such service (everything else must pass):
#   PrometheusIntegration.*  start a real Prometheus server and promtool (Debian `prometheus`),
#                            which this check does not install; the host suite runs them.
#   SlurmHarness.*           start a real single-node SLURM cluster (slurmctld, slurmd, munged
#                            daemons); the host suite runs them.
EXCLUDE='^(PrometheusIntegration|SlurmHarness)\.'
# What the root runs (CUDA_CHECK_SCOPE):
#   torch (default; scripts/test.sh in CI): what LibTorch 2.6 can change: every test that is not
#          the torch-free suite (CTest label `core`: the host suite runs the same sources), i.e. the
#          LibTorch unit tests, the MPI suite, the engine's behaviour lock, the cluster tests, minus
#          the end-to-end training runs that repeat TrainCli.PostTrainWritesTheOutputContract's code
#          path with another flag (resume, two ranks, lr horizon; the host suite runs them).
#          Only what it runs is built (BUILD_TARGETS: ecgdist, ecg_torch_tests,
#          ecg_mpi_tests), so ecg_core_tests' placeholder test (ecg_core_tests_NOT_BUILT) is left out.
#   full:  everything except the two server harnesses.
CUDA_CHECK_SCOPE=${CUDA_CHECK_SCOPE:-torch}
case "$CUDA_CHECK_SCOPE" in
  torch)
    EXCLUDE="$EXCLUDE|^TrainCli\.(LinearProbing|ResumedRun|TwoRanks|LrHorizon)|^PretrainCli\.(TwoRanks|Preempted)|^StMemProfile\.ResumedRun|^ecg_core_tests_NOT_BUILT\$"
    BUILD_TARGETS=(ecgdist ecg_torch_tests ecg_mpi_tests)
    SCOPE_ARGS=(-LE core) ;;
  full) BUILD_TARGETS=(all) SCOPE_ARGS=() ;;
  *) echo "check-cuda-build: CUDA_CHECK_SCOPE must be torch or full, not '$CUDA_CHECK_SCOPE'" >&2; exit 2 ;;
esac

# ---- mounts: all undone on any exit, including failure and Ctrl-C ---------------------------
MOUNTS=()
unmount_all() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null ||
      echo "check-cuda-build: could not unmount ${MOUNTS[i]}" >&2
  done
  MOUNTS=()
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bind() {   # bind <host path> <path in root> [ro]
  mkdir -p "$ROOT$2"
  mount --bind "$1" "$ROOT$2"
  MOUNTS+=("$ROOT$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$ROOT$2"; fi
}
mount_system() {
  mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
  mount -t proc proc "$ROOT/proc"; MOUNTS+=("$ROOT/proc")
  bind /sys /sys ro
  bind /dev /dev
  bind /dev/pts /dev/pts
  # Open MPI's shared-memory transport needs a writable /dev/shm.
  mount -t tmpfs -o size=2g tmpfs "$ROOT/dev/shm"; MOUNTS+=("$ROOT/dev/shm")
}
# A previous run killed with SIGKILL cannot have run the trap: undo what it left mounted.
stale_mounts() { awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r; }
for m in $(stale_mounts); do umount "$m" || umount -l "$m"; done
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 1. the Debian 13 root ----------------------------------------------------------------------
host_mirror() {
  # First non-security archive of this host's apt: deb822 .sources stanzas, then one-line lists.
  local m
  m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'BEGIN {RS = ""} {
        uris = ""; suites = ""
        n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          if (line[i] ~ /^URIs:/) { split(line[i], f, " "); uris = f[2] }
          if (line[i] ~ /^Suites:/) suites = line[i]
        }
        if (uris != "" && suites !~ /-security/) { print uris; exit }
      }')
  [ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                     awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}')
  echo "$m"
}

# cuDNN: Debian's nvidia-cudnn (non-free) is only a downloader whose postinst fetches the library
# from NVIDIA's site, which this check must not (and cannot) reach; libtorch_cuda and
# libtorch_python need libcudnn.so.9 and are linked BIND_NOW, so without it nothing loads. The
# root therefore gets a stand-in package "nvidia-cudnn" (a higher version, held) whose
# libcudnn.so.9 defines exactly the cudnn* symbols those libraries import, each aborting with a
# message if ever called. CPU runs never call cuDNN, so the tests passing also shows none did.
CUDNN_STUB_VERSION=9.0.0.312~cuda12+ecgdist.stub1
install_cudnn_stub() {
  if [ "$(in_root dpkg-query -W -f='${Version}' nvidia-cudnn 2>/dev/null)" = "$CUDNN_STUB_VERSION" ]; then
    return 0
  fi
  say "building the cuDNN stand-in (see the comment above install_cudnn_stub)"
  mkdir -p "$ROOT/tmp"
  cat > "$ROOT/tmp/cudnn-stub.sh" <<'STUB'
set -euo pipefail
version=$1
w=/tmp/cudnn-stub
rm -rf "$w" && mkdir -p "$w/x" "$w/pkg/DEBIAN" "$w/pkg/usr/lib/x86_64-linux-gnu"
# The .debs land in apt's cache, so the install right after reuses them.
cd /var/cache/apt/archives
apt-get download -q libtorch-cuda-2.6 python3-torch-cuda
cd "$w"
for d in /var/cache/apt/archives/libtorch-cuda-2.6_*.deb /var/cache/apt/archives/python3-torch-cuda_*.deb; do
  dpkg-deb -x "$d" x
done
find x -name '*.so*' -type f -exec nm -D --undefined-only {} + 2>/dev/null |
  awk '$2 ~ /^cudnn[A-Za-z0-9_]*@libcudnn\.so\.9$/ {sub(/@.*/, "", $2); print $2}' | sort -u > syms
test -s syms
{
  echo '#include <stdio.h>'
  echo '#include <stdlib.h>'
  echo 'static void die(const char* f) {'
  echo '  fprintf(stderr, "%s called, but this root has only a cuDNN stand-in (scripts/check-cuda-build.sh)\n", f);'
  echo '  abort();'
  echo '}'
  while read -r f; do echo "int $f(void) { die(\"$f\"); return 1; }"; done < syms
} > stub.c
{ echo 'libcudnn.so.9 { global:'; sed 's/$/;/' syms; echo 'local: *; };'; } > stub.map
gcc -shared -fPIC -O1 -Wl,-soname,libcudnn.so.9 -Wl,--version-script=stub.map \
  -o pkg/usr/lib/x86_64-linux-gnu/libcudnn.so.9 stub.c
ln -s libcudnn.so.9 pkg/usr/lib/x86_64-linux-gnu/libcudnn.so
cat > pkg/DEBIAN/control <<EOF
Package: nvidia-cudnn
Version: $version
Architecture: amd64
Maintainer: ecgdist check <root@localhost>
Section: non-free/libs
Priority: optional
Description: stand-in libcudnn.so.9 for scripts/check-cuda-build.sh
 Defines the cudnn* symbols CUDA LibTorch imports; every call aborts.
EOF
dpkg-deb --build --root-owner-group pkg nvidia-cudnn-stub.deb >/dev/null
dpkg -i nvidia-cudnn-stub.deb
apt-mark hold nvidia-cudnn
echo "cuDNN stand-in: $(wc -l < syms) symbols"
rm -rf "$w"
STUB
  in_root bash /tmp/cudnn-stub.sh "$CUDNN_STUB_VERSION" || fail "could not build the cuDNN stand-in"
}

# The mark holds the package list it was made for: a root cached before a package was added to
# the lists above runs the (idempotent) package stage again instead of building without it.
WANTED="${PACKAGES[*]} ${TORCH_PACKAGES[*]}"
if [ ! -e "$DONE_MARK" ] || [ "$(cat "$DONE_MARK")" != "$WANTED" ]; then
  MIRROR=${ECGDIST_TRIXIE_MIRROR:-$(host_mirror)}
  [ -n "$MIRROR" ] || fail "no Debian archive found in /etc/apt; set ECGDIST_TRIXIE_MIRROR"
  if [ ! -e "$BASE_MARK" ]; then
    # A half-made base (interrupted debootstrap) is thrown away, never reused.
    [ -z "$(stale_mounts)" ] || fail "something is still mounted under $ROOT; not deleting it"
    rm -rf "$ROOT"
    if ! command -v debootstrap >/dev/null; then
      say "installing the host's debootstrap"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap ||
        fail "could not install debootstrap on the host"
    fi
    say "debootstrap trixie into $ROOT"
    debootstrap --variant=minbase --components=main,contrib,non-free,non-free-firmware \
      trixie "$ROOT" "$MIRROR" || fail "debootstrap of trixie from the host's archive failed"
    touch "$BASE_MARK"
  fi
  # dpkg in this throwaway root skips its fsync per file: a crash mid-install leaves the root
  # unmarked, and the stage below is rerun whole anyway. Unpacking some 8 GB (the CUDA toolkit,
  # CUDA LibTorch) then costs the host's build beside it far less disk time.
  mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
  echo force-unsafe-io > "$ROOT/etc/dpkg/dpkg.cfg.d/ecgdist-unsafe-io"
  # The package stage always runs whole: apt-get is idempotent, so after an interruption it
  # finishes what was half-done (dpkg --configure -a first) instead of trusting it.
  cat > "$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: trixie trixie-updates
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -f "$ROOT/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  mount_system
  say "installing ${#PACKAGES[@]} packages in the root"
  in_root dpkg --configure -a || fail "dpkg --configure -a in the root failed"
  in_root apt-get update -q || fail "apt-get update in the root failed (archive unreachable?)"
  in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" ||
    fail "apt-get install in the root failed"
  install_cudnn_stub
  in_root apt-get install -y -q --no-install-recommends "${TORCH_PACKAGES[@]}" ||
    fail "apt-get install of CUDA LibTorch in the root failed"
  in_root apt-get clean
  unmount_all
  echo "$WANTED" > "$DONE_MARK"
  say "root complete"
else
  say "reusing the complete root $ROOT"
fi
if [ "$PREPARE_ONLY" = 1 ]; then
  say "root ready (--prepare-root: not building)"
  exit 0
fi

# ---- 2. build -------------------------------------------------------------------------------------
# The `cuda-check` preset (CMakePresets.json): the `cuda` preset (NCCL on, no benchmarks: they add
# build time and nothing this check is about) at -O1 -DNDEBUG, since the check proves compiling,
# linking and the suite against CUDA LibTorch, not speed (our code computes the same IEEE results
# at -O1 as at -O3: nothing enables -ffast-math, and the x86-64 baseline has no FMA to contract
# into), into the cached build folder rather than the read-only checkout.
# The build directory is keyed by the root's installed packages (and these CMake arguments): a new
# root or upgraded packages get a fresh build, never a stale CMake cache.
CMAKE_ARGS=(--preset cuda-check)
KEY=$( { chroot "$ROOT" dpkg-query -W -f='${Package} ${Version}\n'; echo "${CMAKE_ARGS[*]}"; } |
       sha256sum | cut -c1-16)
BUILD=$CACHE/build-$KEY
for old in "$CACHE"/build-*; do
  [ "$old" = "$BUILD" ] || [ ! -d "$old" ] || { say "removing stale build $old"; rm -rf "$old"; }
done
mkdir -p "$BUILD"
mount_system
# The tests find fixtures in ../shared beside the checkout (tests/CMakeLists.txt).
bind "$SRC" /src ro
if [ -d "$SRC/../shared" ]; then bind "$SRC/../shared" /shared ro; fi
bind "$BUILD" /build
mkdir -p "$ROOT/tmp" && chmod 1777 "$ROOT/tmp"

say "configuring (build directory $BUILD)"
in_root sh -c 'cd /src && exec "$@"' sh cmake "${CMAKE_ARGS[@]}" -S /src -B /build | tee "$CACHE/cmake-configure.log" ||
  fail "cmake configure in the root failed"
# make trusts modification times, and a checkout other than the last one built here may hold older
# files with other content: sources not older than the last build are not enough, so a different
# tree (by git's tree id, or any uncommitted change) is rebuilt from scratch.
TREE=$(git -C "$SRC" rev-parse HEAD^{tree} 2>/dev/null || echo unknown)
[ -z "$(git -C "$SRC" status --porcelain 2>/dev/null)" ] || TREE="$TREE+dirty$(date +%s)"
if [ "$(cat "$BUILD/.source-tree" 2>/dev/null)" != "$TREE" ] && [ -f "$BUILD/CMakeCache.txt" ]; then
  say "another source tree than the last build here: cleaning the build"
  in_root cmake --build /build --target clean >/dev/null || true
fi
# A build killed part-way (e.g. a session ending) can leave a truncated object file newer than its
# source, which make would then trust: objects written since an unfinished build began are
# deleted and rebuilt.
MARK=$BUILD/.build-in-progress
if [ -e "$MARK" ]; then
  say "the previous build here did not finish: rebuilding what it wrote"
  find "$BUILD" -newer "$MARK" \( -name '*.o' -o -name '*.a' -o -name '*.gch' \) -delete
fi
touch "$MARK"
say "building ${BUILD_TARGETS[*]} with -j$JOBS"
in_root cmake --build /build -j"$JOBS" --target "${BUILD_TARGETS[@]}" || fail "build in the root failed"
rm -f "$MARK"
echo "$TREE" > "$BUILD/.source-tree"

# ---- 3. evidence: NCCL backend on, the binary links CUDA LibTorch and NCCL ----------------------
echo "---- CMake:"
grep -E 'NCCL backend' "$CACHE/cmake-configure.log" || true
grep -q 'NCCL backend: ON' "$CACHE/cmake-configure.log" || fail "CMake did not enable the NCCL backend"
echo "---- ldd build/launcher/ecgdist | grep -E 'torch_cuda|nccl':"
LINKS=$(in_root ldd /build/launcher/ecgdist | grep -E 'torch_cuda|nccl' || true)
echo "$LINKS"
grep -q 'libtorch_cuda' <<<"$LINKS" || fail "ecgdist does not link libtorch_cuda"
grep -q 'libnccl' <<<"$LINKS" || fail "ecgdist does not link libnccl"
if grep -q 'not found' <<<"$LINKS"; then fail "a CUDA library of ecgdist is not found in the root"; fi
echo "---- torch in the root:"
in_root python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)' ||
  fail "python3 cannot import torch in the root"

# ---- 4. the test suite, on the CPU ----------------------------------------------------------------
say "running ctest, scope $CUDA_CHECK_SCOPE (${SCOPE_ARGS[*]:-all labels}, excluding $EXCLUDE)"
in_root OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  ctest --test-dir /build --output-on-failure -j"${CTEST_JOBS:-2}" -E "$EXCLUDE" "${SCOPE_ARGS[@]}" "$@" ||
  fail "tests failed in the trixie root (see above)"
say "OK: ecgdist builds against CUDA LibTorch 2.6 + NCCL, links both, and its tests pass on the CPU (log: $LOG)"
