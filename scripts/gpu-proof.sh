#!/usr/bin/env bash
# The GPU proof (issue 12), in two halves:
#   bash scripts/gpu-proof.sh fetch        HERE (Debian 12, package network): download the .deb files
#                                          that the GPU machine lacks into .gpu-debs/ (git-ignored)
#   bash scripts/gpu-proof.sh run          THERE (the lent H200 machine, no network, no Debian dev
#                                          packages): unpack them into a scratch prefix, build ecgdist
#                                          against the Python package's LibTorch (CUDA) and NCCL, run
#                                          the GPU phases, write $OUT/gpu-proof.json and gpu-proof.md
#   bash scripts/gpu-proof.sh run --cpu    the same flow on a CPU machine (dry run; also
#                                          GPU_PROOF_DRY_RUN=1): system LibTorch, --device cpu, tiny
#                                          model, and a check that every header and library came from
#                                          the unpacked prefix rather than from this machine's /usr
# Each phase has a hard timeout and the whole run a deadline (GPU_PROOF_BUDGET_S, default 540 s),
# so it ends inside the device tool's 10-minute limit; a failed phase is recorded and the next
# one runs; the exit status is non-zero when any phase failed. gpu-proof.json is rewritten after
# every phase, so a run cut short still brings back what it measured. See docs/gpu-proof.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/gpu-proof.sh"
DEBS="$ROOT/.gpu-debs"

die() { echo "gpu-proof: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------------------------

# -dev packages are taken as they are, WITHOUT their Depends: those drag in gfortran, the Fortran
# and C++ HDF5 bindings, libjpeg, jQuery, catch2... that the build never touches. Each one named
# here is needed by a header, a CMake config or a pkg-config file the build reads.
DEV_PACKAGES=(
  libopenmpi-dev                      # mpi.h, libmpi.so
  libhdf5-dev hdf5-helpers            # hdf5.h, libhdf5.so (serial), and h5cc, which FindHDF5 asks
  prometheus-cpp-dev libcivetweb-dev  # prometheus-cpp's config find_dependency(civetweb)
  civetweb                            # ... whose targets file checks that /usr/bin/civetweb exists
  libcurl4-openssl-dev zlib1g-dev     # ... and find_dependency(CURL), find_dependency(ZLIB)
  libboost-dev libboost1.74-dev       # Boost.Asio (headers only)
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsoxr-dev libfftw3-dev libcsv-dev
  libzip-dev                          # zip.h, zipconf.h, libzip.pc (its Requires: none; zlib1g-dev above)
  libgtest-dev libgmock-dev googletest
)
# Runtime libraries: their whole Depends closure is taken (the MCA plugins of Open MPI dlopen
# PMIx, hwloc, libevent, UCX, libfabric...), less EXCLUDE. pkgconf: the GPU image may have no
# pkg-config, and CMake's pkg_check_modules needs one.
RUNTIME_ROOTS=(
  libopenmpi3 openmpi-bin openmpi-common
  libhdf5-103-1 libsz2 libaec0
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0 libcivetweb1
  libspdlog1.10 libfmt9 libsoxr0 libfftw3-single3 libcsv3 libcurl4 libssl3
  libzip4
  pkgconf-bin libpkgconf3
)
# Left out of the closure: the C/C++ runtime and base-system libraries every glibc distribution
# carries (the GPU image is Ubuntu-based: its own, newer copies serve), package-manager and login
# machinery, ssh (mpirun uses it only for remote hosts), and hwloc's optional GPU/X11 plugins
# (which alone would pull X11, libxml2 and 9 MB of ICU).
EXCLUDE=(
  libc6 libstdc++6 libgcc-s1 gcc-12-base libcrypt1 libatomic1 libgomp1
  debconf cdebconf libdebian-installer4 dpkg tar passwd adduser install-info
  libpam0g libpam-modules libpam-modules-bin libaudit1 libaudit-common libselinux1 libsemanage2
  libsemanage-common libsepol2 libacl1 libcap-ng0 libdb5.3 libmd0 libbsd0 libbz2-1.0 liblzma5
  libzstd1 zlib1g libtinfo6 readline-common libreadline8 libpcre2-8-0 libudev1 libuuid1
  libnewt0.52 libslang2 libtextwrap1 openssh-client libedit2 libcbor0.8 libfido2-1
  libhwloc-plugins libxml2 libicu72 libx11-6 libx11-data libxau6 libxcb1 libxdmcp6 libxext6
  libxnvctrl0 ocl-icd-libopencl1 libpciaccess0
)

cmd_fetch() {
  command -v apt-get >/dev/null || die "fetch: apt-get not found (run fetch on the Debian 12 dev machine)"
  # apt-cache answers from the local lists: refresh them when they do not know our packages yet.
  apt-cache show --no-all-versions libopenmpi3 >/dev/null 2>&1 || apt-get update -q >/dev/null \
    || die "fetch: apt-get update failed"
  local closure
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
              --no-replaces --no-enhances "${RUNTIME_ROOTS[@]}" | grep -v '^ ' | grep -v '^<' | sort -u) \
    || die "fetch: apt-cache depends failed for the runtime closure"
  local -A skip=()
  local p
  for p in "${EXCLUDE[@]}"; do skip[$p]=1; done
  local want=("${DEV_PACKAGES[@]}")
  for p in $closure; do [ -n "${skip[$p]:-}" ] || want+=("$p"); done
  mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
  # A fresh folder each time: a stale .deb of another version would be unpacked too.
  rm -rf "$DEBS"
  mkdir -p "$DEBS"
  (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "${want[@]}" >/dev/null) || die "fetch: apt-get download failed (one of: ${want[*]})"
  printf '%s\n' "${want[@]}" >"$DEBS/PACKAGES.txt"
  local bytes
  bytes=$(du -cb "$DEBS"/*.deb | tail -1 | cut -f1)
  echo "gpu-proof: fetched ${#want[@]} packages into $DEBS: $(numfmt --to=iec-i --suffix=B "$bytes") ($bytes bytes)"
  # The device tool carries at most 64 MiB: the working tree and every carried path together.
  ((bytes < 56 * 1024 * 1024)) || die "fetch: $DEBS is $bytes bytes, over the 56 MiB left beside the tree"
}

# ---------------------------------------------------------------------------------------------
# run: settings shared by every phase (each phase runs as `gpu-proof.sh _phase NAME` under timeout)
# ---------------------------------------------------------------------------------------------

MODE=gpu
[ "${GPU_PROOF_DRY_RUN:-0}" = 1 ] && MODE=cpu
SCRATCH=${GPU_PROOF_SCRATCH:-/tmp/gpu-proof}
P="$SCRATCH/prefix"                  # the unpacked .deb files: $P/usr/...
B="$SCRATCH/build"
W="$SCRATCH/work"                    # data and runs
LOGS="$SCRATCH/logs"
STATE="$SCRATCH/state"               # one NAME.json per finished phase
MA=x86_64-linux-gnu

# Environment that makes the unpacked prefix usable. Open MPI is relocatable through OPAL_*;
# Debian configures sysconfdir and the PMIx/UCX plugin folders outside its prefix, hence the
# extra variables. Transport choice: one node, so shared memory (without the cross-memory-attach
# system calls that gVisor may refuse) and self; no UCX/OFI probing of absent network hardware.
prefix_env() {
  export OPAL_PREFIX="$P/usr" OPAL_EXEC_PREFIX="$P/usr"
  export OPAL_BINDIR="$P/usr/bin" OPAL_LIBDIR="$P/usr/lib/$MA/openmpi/lib"
  export OPAL_INCLUDEDIR="$P/usr/lib/$MA/openmpi/include"
  export OPAL_DATADIR="$P/usr/share" OPAL_PKGDATADIR="$P/usr/share/openmpi"
  export OPAL_SYSCONFDIR="$P/etc/openmpi"
  export PMIX_INSTALL_PREFIX="$P/usr/lib/$MA/pmix2" UCX_MODULE_DIR="$P/usr/lib/$MA/ucx"
  export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
  export OMPI_MCA_osc=^ucx OMPI_MCA_mtl=^ofi,psm,psm2
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export PATH="$P/usr/bin:$PATH"
  local l="$P/usr/lib/$MA:$P/lib/$MA:$P/usr/lib/$MA/openmpi/lib:$P/usr/lib/$MA/hdf5/serial:$P/usr/lib/$MA/pmix2/lib"
  [ -d "$SCRATCH/nccl/lib" ] && l="$l:$SCRATCH/nccl/lib"
  export LD_LIBRARY_PATH="$l${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # HDF5's settings add bare -lcrypto -lsz: gcc looks for them along LIBRARY_PATH.
  export LIBRARY_PATH="$P/usr/lib/$MA${LIBRARY_PATH:+:$LIBRARY_PATH}"
  export PKG_CONFIG_LIBDIR="$P/usr/lib/$MA/pkgconfig:$P/usr/share/pkgconfig" PKG_CONFIG_PATH=
}

# The Python that holds PyTorch: python3 on the GPU machine (the /opt/torch venv).
py() { "${GPU_PROOF_PYTHON:-$([ "$MODE" = cpu ] && [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}" "$@"; }

ecgdist() { "$B/launcher/ecgdist" "$@"; }

# Model, devices and sizes of the phases. The dry run keeps the flow and shrinks the work.
if [ "$MODE" = gpu ]; then
  DEV=(--device cuda --precision bf16); MODEL=base; RECORDS=1200; BATCH=64; PT_BATCH=64
  TP_EPOCHS=4
else
  DEV=(--device cpu --precision bf16 --threads 2); MODEL=tiny; RECORDS=240; BATCH=16; PT_BATCH=16
  TP_EPOCHS=1
fi
# Override of the device flags, e.g. GPU_PROOF_DEV_ARGS="--threads 2" on a tree older than
# --device/--precision.
[ -n "${GPU_PROOF_DEV_ARGS+x}" ] && read -r -a DEV <<<"$GPU_PROOF_DEV_ARGS"

phase_unpack() {
  ls "$DEBS"/*.deb >/dev/null 2>&1 || die "unpack: no .deb files in $DEBS (run 'scripts/gpu-proof.sh fetch' here and carry .gpu-debs)"
  rm -rf "$P"
  mkdir -p "$P"
  if command -v dpkg-deb >/dev/null && [ "${GPU_PROOF_NO_DPKG:-0}" != 1 ]; then
    # In parallel: boost alone is ~200 MB of headers.
    printf '%s\0' "$DEBS"/*.deb | xargs -0 -P 8 -I{} dpkg-deb -x {} "$P" \
      || die "unpack: dpkg-deb -x failed on one of $DEBS/*.deb"
  else
    # No dpkg: a .deb is an ar archive holding data.tar.{xz,zst,gz}.
    local d t
    for d in "$DEBS"/*.deb; do
      t=$(mktemp -d)
      (cd "$t" && ar x "$d") || die "unpack: ar x failed on $d"
      tar -xf "$t"/data.tar.* -C "$P" || die "unpack: tar failed on $d (data.tar.* of $(basename "$d"))"
      rm -rf "$t"
    done
  fi
  # Alternatives links (mpirun, mpicc...) are made by maintainer scripts, which we do not run.
  ln -sf orterun "$P/usr/bin/mpirun"
  ln -sf orterun "$P/usr/bin/mpiexec"
  [ -e "$P/usr/bin/pkgconf" ] && ln -sf pkgconf "$P/usr/bin/pkg-config"
  # h5cc says where HDF5 lives in one line, meant to be edited when the files move.
  sed -i "s#^prefix=\"/usr\"#prefix=\"$P/usr\"#" "$P/usr/bin/h5cc"
  # Link names for libraries that only their -dev package (not fetched) would provide.
  ln -sf libcrypto.so.3 "$P/usr/lib/$MA/libcrypto.so"
  ln -sf libsz.so.2 "$P/usr/lib/$MA/libsz.so"
  # pkg-config files name /usr literally.
  local pc
  for pc in "$P"/usr/lib/$MA/pkgconfig/*.pc "$P"/usr/share/pkgconfig/*.pc; do
    [ -f "$pc" ] && sed -i -E "s#(^|[=[:space:]]|-I|-L)/usr(/|\$)#\1$P/usr\2#g" "$pc"
  done
  # Absolute symlinks inside the packages (e.g. lib*.so -> /lib/...) would leave the prefix.
  local link target
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in /*) ln -sfn "$P$target" "$link" ;; esac
  done < <(find "$P" -type l -print0)
  # Open MPI reads its MCA parameter file from OPAL_SYSCONFDIR; Debian's sits in /etc/openmpi.
  mkdir -p "$P/etc/openmpi"
  prefix_env
  ompi_info --parsable --path libdir --path pkglibdir | tee "$LOGS/ompi_paths.txt"
  grep -q "$P" "$LOGS/ompi_paths.txt" || die "unpack: ompi_info does not report the prefix (OPAL_PREFIX relocation failed)"
  echo "unpacked $(ls "$DEBS"/*.deb | wc -l) packages into $P ($(du -sh "$P" | cut -f1))"
}

# NCCL from the pip wheel (or /usr/local/cuda): headers and an unversioned libnccl.so for CMake.
find_nccl() {
  local d=""
  d=$(py -c 'import nvidia.nccl, os; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null) || d=""
  local inc="" lib=""
  for c in "$d/include" /usr/local/cuda/include; do [ -f "$c/nccl.h" ] && { inc=$c; break; }; done
  for c in "$d/lib" /usr/local/cuda/lib64; do
    lib=$(ls "$c"/libnccl.so* 2>/dev/null | head -1) && [ -n "$lib" ] && break
  done
  [ -n "$inc" ] || die "build: nccl.h not found in ${d:-<no nvidia.nccl package>}/include nor /usr/local/cuda/include (pip package nvidia-nccl-cu13 without headers?)"
  [ -n "$lib" ] || die "build: libnccl.so* not found in ${d:-<no nvidia.nccl package>}/lib nor /usr/local/cuda/lib64"
  mkdir -p "$SCRATCH/nccl/lib"
  ln -sfn "$inc" "$SCRATCH/nccl/include"
  ln -sf "$(readlink -f "$lib")" "$SCRATCH/nccl/lib/libnccl.so"
  ln -sf "$(readlink -f "$lib")" "$SCRATCH/nccl/lib/libnccl.so.2"
  echo "NCCL: $inc, $lib"
}

phase_build() {
  prefix_env
  local args=(-G Ninja -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DECGDIST_BUILD_BENCH=OFF
              -DECGDIST_BUILD_TESTS=ON
              # Bookworm's config files predate CMake 4's removal of pre-3.5 compatibility.
              -DCMAKE_POLICY_VERSION_MINIMUM=3.5
              # HDF5 through the unpacked h5cc (its prefix rewritten at unpack): without it
              # FindHDF5 would take any other h5cc on the PATH, or fail.
              -DHDF5_C_COMPILER_EXECUTABLE="$P/usr/bin/h5cc" -DHDF5_PREFER_PARALLEL=OFF
              # MPI: no mpicc wrapper either (its data files name /usr).
              -DMPI_SKIP_COMPILER_WRAPPER=ON -DMPI_C_COMPILER=/nonexistent-mpicc
              -DMPI_C_HEADER_DIR="$P/usr/lib/$MA/openmpi/include" -DMPI_C_LIB_NAMES=mpi
              -DMPI_mpi_LIBRARY="$P/usr/lib/$MA/openmpi/lib/libmpi.so"
              -DMPIEXEC_EXECUTABLE="$P/usr/bin/orterun"
              -DPKG_CONFIG_EXECUTABLE="$(command -v pkg-config || echo "$P/usr/bin/pkgconf")")
  local torch_prefix
  if [ "$MODE" = gpu ]; then
    # Without NCCL the build still proves the rest: NCCL off, and the nccl phase fails on the skip.
    local nccl_args=(-DNCCL_INCLUDE_DIR="$SCRATCH/nccl/include" -DNCCL_LIBRARY="$SCRATCH/nccl/lib/libnccl.so")
    if ! (find_nccl); then
      echo "gpu-proof: build: continuing with ECGDIST_WITH_NCCL=OFF" >&2
      nccl_args=(-DECGDIST_WITH_NCCL=OFF)
    fi
    torch_prefix=$(py -c 'import torch; print(torch.utils.cmake_prefix_path)') \
      || die "build: python3 cannot import torch"
    export TORCH_CUDA_ARCH_LIST=9.0   # Hopper: TorchConfig's nvcc flags
    local nvcc
    nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    args+=(-DCMAKE_PREFIX_PATH="$torch_prefix;$P/usr;$P/usr/lib/$MA/cmake"
           -DCMAKE_CUDA_ARCHITECTURES=90 -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")"
           -DCMAKE_CUDA_COMPILER="$nvcc" "${nccl_args[@]}")
  else
    # Dry run: this machine has all of these packages in /usr too, which would hide a missing
    # .deb. The prefix comes first in the search; check_leaks then fails the run for any header,
    # CMake result or directly linked library taken from /usr other than libc, the C++ runtime
    # and LibTorch 1.13 (with the gflags/glog/protobuf its config pulls in). CMake's
    # CMAKE_IGNORE_PREFIX_PATH=/usr cannot be used: it also hides LibTorch 1.13's own dependencies.
    torch_prefix=/usr/lib/$MA/cmake/Torch
    args+=(-DCMAKE_PREFIX_PATH="$P/usr;$P/usr/lib/$MA/cmake" -DTorch_DIR="$torch_prefix"
           -DCMAKE_FIND_ROOT_PATH="$P" -DECGDIST_WITH_NCCL=OFF)
  fi
  # ecgdist and the MPI suite only: the benchmarks and the CPU-only suites are not part of it.
  rm -f "$B/CMakeCache.txt"   # a cache from an earlier try would keep its answers
  cmake "${args[@]}" || die "build: cmake configure failed"
  cmake --build "$B" -j"${GPU_PROOF_JOBS:-16}" --target ecgdist ecg_mpi_tests || die "build: compile failed"
  grep -E '^(NCCL_|HDF5_C_LIBRARY_hdf5|HDF5_C_INCLUDE_DIR|MPI_mpi_LIBRARY|Torch_DIR|CURL_LIBRARY|ZLIB_LIBRARY|fmt_DIR|spdlog_DIR|GTest_DIR|Boost_INCLUDE_DIR|LIBCSV_)' "$B/CMakeCache.txt"
  ldd "$B/launcher/ecgdist" | tee "$LOGS/ldd_ecgdist.txt"
  # A warning only: ldd follows LibTorch's whole closure, where a library the driver mount or
  # a lazy load provides may show as missing; the phases that run ecgdist are the real test.
  ! grep -q "not found" "$LOGS/ldd_ecgdist.txt" || echo "gpu-proof: build: WARNING: ldd finds no $(grep 'not found' "$LOGS/ldd_ecgdist.txt" | awk '{print $1}' | tr '\n' ' ')"
  "$B/launcher/ecgdist" --version
}

# Dry run only: every header the objects were compiled from and every library ecgdist loads must
# come from the prefix, except the C/C++ runtime, kernel headers and (here) LibTorch.
phase_check_leaks() {
  prefix_env
  local allowed='^(libc6-dev|linux-libc-dev|libstdc\+\+-12-dev|libgcc-12-dev|libc6|libstdc\+\+6|libgcc-s1|libtorch-dev|libtorch1\.13|libc10-dev|libcaffe2-dev|libgflags-dev|libgoogle-glog-dev|libprotobuf-dev|libunwind-dev|libgflags2\.2|libgoogle-glog0v6|libprotobuf32|libtorch-test)$'
  # Headers every object was compiled from (ninja's dependency log).
  ninja -C "$B" -t deps | awk '/^    \//{print $1}' | grep -v "^$P\|^$ROOT\|^$B" | sort -u >"$LOGS/headers_outside.txt" || true
  # Libraries ecgdist and the MPI suite link directly (NEEDED), where the loader finds them.
  local bin name
  for bin in "$B/launcher/ecgdist" "$B/tests/ecg_mpi_tests"; do
    for name in $(readelf -d "$bin" | awk '/NEEDED/{gsub(/[\[\]]/, "", $5); print $5}'); do
      ldd "$bin" | awk -v n="$name" '$1 == n {print $3}'
    done
  done | grep -v "^$P" | sort -u >"$LOGS/libs_outside.txt" || true
  # Paths CMake found (FILEPATH/PATH cache entries) outside the prefix, LibTorch's aside.
  grep -E '^[A-Za-z0-9_]+:(FILEPATH|PATH)=/' "$B/CMakeCache.txt" | grep -v "=$P\|=$B\|=$ROOT" \
    | grep -v -E '^(CMAKE_|Torch_DIR|Caffe2_DIR|TORCH_|C10_|c10_|GFLAGS_|GLOG_|gflags_|glog_|Protobuf_|protobuf_|LIBDL_|LIBRT_|kineto_|PYTHON_|CUDA|MKL|mkl|pthreadpool|XNNPACK|fbgemm|Threads)' \
    | cut -d= -f2 >"$LOGS/cmake_outside.txt" || true
  # Files of the allowed packages in one pass (dpkg -S per header would take minutes).
  local lists=() pkg f
  for pkg in $(dpkg-query -W -f='${Package}\n' | grep -E "$allowed"); do
    lists+=(/var/lib/dpkg/info/"$pkg".list /var/lib/dpkg/info/"$pkg":amd64.list)
  done
  { cat "${lists[@]}" 2>/dev/null || true; } | sort -u >"$LOGS/allowed_files.txt"   # half the names do not exist
  cat "$LOGS/headers_outside.txt" "$LOGS/libs_outside.txt" "$LOGS/cmake_outside.txt" | while read -r f; do
    # Debian lists files under /usr or / (merged /usr); the compiler may name either spelling.
    grep -qxF -e "$f" -e "${f#/usr}" -e "$(readlink -f "$f")" -e "$(readlink -f "$f" | sed 's#^/usr##')" \
      "$LOGS/allowed_files.txt" && continue
    pkg=$(dpkg -S "$f" 2>/dev/null || dpkg -S "$(readlink -f "$f")" 2>/dev/null || dpkg -S "${f#/usr}" 2>/dev/null || true)
    pkg=${pkg%%:*}
    pkg=${pkg%%,*}
    [[ -n $pkg && $pkg =~ $allowed ]] || echo "LEAK: $f (package: ${pkg:-?})"
  done | sort -u >"$LOGS/leaks.txt"
  cat "$LOGS/leaks.txt"
  [ ! -s "$LOGS/leaks.txt" ] || die "check_leaks: $(wc -l <"$LOGS/leaks.txt") headers/libraries/CMake paths came from this machine's /usr, not from .gpu-debs (leaks.txt)"
  echo "outside the prefix, all from allowed packages: $(wc -l <"$LOGS/headers_outside.txt") headers, $(wc -l <"$LOGS/libs_outside.txt") linked libraries, $(wc -l <"$LOGS/cmake_outside.txt") CMake paths"
}

phase_data() {
  prefix_env
  mkdir -p "$W"
  rm -rf "$W/D" "$W/D.h5"
  ecgdist synth --out "$W/D" --records "$RECORDS" --sampling-rate 100 --seed 1
  ecgdist preprocess --ptbxl "$W/D" --out "$W/D.h5" --sampling-rate 100
  ecgdist inspect "$W/D.h5" >"$LOGS/inspect.txt"
}

phase_train() {
  prefix_env
  rm -rf "$W/runs/post"
  ecgdist train --data "$W/D.h5" --task superdiagnostic --recipe post-train --model "$MODEL" "${DEV[@]}" \
    --lp-epochs 1 --epochs 2 --batch-size "$BATCH" --bootstrap 100 --quiet --out "$W/runs/post"
  cp "$W/runs/post/results.json" "$STATE/train.results.json"
  cp "$W/runs/post/history.csv" "$STATE/train.history.csv"
}

phase_pretrain() {
  prefix_env
  rm -rf "$W/runs/pre"
  ecgdist pretrain --data "$W/D.h5" --model "$MODEL" "${DEV[@]}" --epochs 1 --batch-size "$PT_BATCH" \
    --quiet --out "$W/runs/pre"
  cp "$W/runs/pre/results.json" "$STATE/pretrain.results.json"
}

# The MPI suite's NCCL test under one rank (two ranks would share the one GPU, which NCCL refuses).
# A skipped test is a failure here: the point is that it ran on the device.
phase_nccl() {
  prefix_env
  local filter='*Nccl*'
  [ "$MODE" = cpu ] && filter='MpiCommunicator.RanksAndBackend:MpiCommunicator.AllReduceKnownBuffers:*Nccl*'
  mpirun -np 1 --oversubscribe --bind-to none -x LD_LIBRARY_PATH -x OMPI_MCA_pml -x OMPI_MCA_btl \
    "$B/tests/ecg_mpi_tests" --gtest_filter="$filter" --gtest_output="json:$STATE/nccl.gtest.json"
  if [ "$MODE" = gpu ] && grep -q '"result": "SKIPPED"' "$STATE/nccl.gtest.json"; then
    die "nccl: the NCCL test was skipped (no CUDA device seen, or NCCL not built)"
  fi
}

# Steady throughput of the full fine-tuning step (the one the PyTorch reference times): one stage,
# several epochs; samples/s is taken both from results.json (every step, the first included) and
# from the last epoch alone (history.csv), which leaves start-up out.
phase_throughput() {
  prefix_env
  rm -rf "$W/runs/tp"
  ecgdist train --data "$W/D.h5" --task superdiagnostic --recipe fine-tune --model "$MODEL" "${DEV[@]}" \
    --epochs "$TP_EPOCHS" --patience 100 --drop-path 0.1 --batch-size "$BATCH" --eval-crops 1 \
    --bootstrap 10 --quiet --out "$W/runs/tp"
  cp "$W/runs/tp/results.json" "$STATE/throughput.results.json"
  cp "$W/runs/tp/history.csv" "$STATE/throughput.history.csv"
}

phase_torch_ref() {
  # Not under prefix_env: Debian's libraries must not shadow the image's own for Python.
  local dev=cuda size=base batch=$BATCH
  [ "$MODE" = cpu ] && { dev=cpu; size=tiny; }
  py "$ROOT/bench/gpu/torch_reference.py" --device "$dev" --size "$size" --batch "$batch" \
    --out "$STATE/torch_ref.json"
}

phase_versions() {
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 || true
    nvidia-smi 2>&1 | head -4 || true
    nvcc --version 2>&1 | tail -2 || true
    py -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version() if torch.cuda.is_available() else None, "python", sys.version.split()[0])' 2>&1 || true
    py -m pip show nvidia-nccl-cu13 2>/dev/null | grep -i '^version' | sed 's/^/nvidia-nccl-cu13 /' || true
    cmake --version | head -1; ninja --version 2>/dev/null | sed 's/^/ninja /' || true
    c++ --version | head -1
    grep -E '^(PRETTY_NAME)=' /etc/os-release || true
    ldd --version | head -1
    uname -srm
  } 2>&1
}

# ---------------------------------------------------------------------------------------------

run_phase() {  # NAME MAX_SECONDS: run `_phase NAME` under a timeout bounded by the deadline
  local name=$1 max=$2 left t0 rc status
  left=$((DEADLINE - $(date +%s) - 15))
  local limit=$((max < left ? max : left))
  t0=$(date +%s.%N)
  if ((limit < 10)); then
    status=skipped; rc=0; echo "deadline reached" >"$LOGS/$name.log"
  else
    set +e
    timeout -k 10 "$limit" bash "$SELF" _phase "$name" >"$LOGS/$name.log" 2>&1
    rc=$?
    set -e
    status=passed
    ((rc == 0)) || status=failed
    ((rc == 124 || rc == 137)) && status=timeout
  fi
  local secs
  secs=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(date +%s.%N)")
  printf '{"name": "%s", "status": "%s", "rc": %d, "seconds": %s, "limit_s": %d}\n' \
    "$name" "$status" "$rc" "$secs" "$limit" >"$STATE/$name.phase.json"
  echo "gpu-proof: $name $status (${secs}s, limit ${limit}s)$( [ "$status" = passed ] || echo ": $(tail -1 "$LOGS/$name.log")")"
  [ "$status" = passed ] || FAILED=1
  summarize
}

skip_phase() {  # NAME WHY
  printf '{"name": "%s", "status": "skipped", "rc": 0, "seconds": 0, "why": "%s"}\n' "$1" "$2" >"$STATE/$1.phase.json"
  echo "$2" >"$LOGS/$1.log"
  echo "gpu-proof: $1 skipped: $2"
  FAILED=1
  summarize
}

passed() { grep -q '"status": "passed"' "$STATE/$1.phase.json" 2>/dev/null; }

summarize() {
  python3 "$ROOT/bench/gpu/summarize.py" --state "$STATE" --logs "$LOGS" --mode "$MODE" \
    --out "$OUTDIR" --started "$START" || echo "gpu-proof: summarize failed" >&2
}

cmd_run() {
  [ "${1:-}" = --cpu ] && MODE=cpu && export GPU_PROOF_DRY_RUN=1
  OUTDIR=${OUT:-$SCRATCH/out}
  mkdir -p "$SCRATCH" "$OUTDIR"
  rm -rf "$LOGS" "$STATE" "$W"
  mkdir -p "$LOGS" "$STATE" "$W"
  START=$(date +%s)
  DEADLINE=$((START + ${GPU_PROOF_BUDGET_S:-540}))
  FAILED=0
  export GPU_PROOF_DRY_RUN=$([ "$MODE" = cpu ] && echo 1 || echo 0)
  echo "gpu-proof: run ($MODE) in $SCRATCH, results in $OUTDIR, deadline $((DEADLINE - START)) s"
  phase_versions >"$STATE/versions.txt" 2>&1 || true
  if [ "$MODE" = gpu ]; then
    # Fail fast and clearly when there is no GPU at all: the rest would only time out.
    nvidia-smi -L >"$LOGS/nvidia-smi.txt" 2>&1 || echo "gpu-proof: nvidia-smi failed: $(tail -1 "$LOGS/nvidia-smi.txt")"
  fi
  run_phase unpack 120
  if passed unpack; then run_phase build "${GPU_PROOF_BUILD_S:-330}"; else skip_phase build "unpack failed"; fi
  [ "$MODE" = cpu ] && passed build && run_phase check_leaks 240
  local p
  if passed build; then
    run_phase data 60
    if passed data; then run_phase train 100; else skip_phase train "data failed"; fi
    run_phase nccl 60
    if passed data; then run_phase pretrain 60; else skip_phase pretrain "data failed"; fi
    if passed data; then run_phase throughput 60; else skip_phase throughput "data failed"; fi
  else
    for p in data train nccl pretrain throughput; do skip_phase "$p" "build failed"; done
  fi
  # The PyTorch reference needs no build: it runs whatever happened above.
  run_phase torch_ref 100
  # One log file back (the device tool returns at most 8 files): the tail of each phase's log.
  for p in "$LOGS"/*.log "$LOGS"/*.txt; do
    [ -f "$p" ] || continue
    echo "===== $(basename "$p") ====="
    tail -n 150 "$p"
  done >"$OUTDIR/gpu-proof.log"
  summarize
  echo "gpu-proof: done in $(($(date +%s) - START)) s; $OUTDIR/gpu-proof.json, gpu-proof.md, gpu-proof.log"
  [ "$FAILED" = 0 ] || { echo "gpu-proof: at least one phase did not pass" >&2; exit 1; }
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  run) shift; cmd_run "$@" ;;
  _phase)
    mkdir -p "$LOGS" "$STATE"
    "phase_$2" ;;
  *) die "usage: scripts/gpu-proof.sh fetch | run [--cpu]" ;;
esac
