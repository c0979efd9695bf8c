// bench_allreduce: the cost of our communicator over raw MPI. For each size, times the raw
// MPI_Allreduce (in place, float sum, on MPI_COMM_WORLD) and our all_reduce_async + wait() on the
// same bytes, interleaved round by round so that machine noise hits both alike, and prints the
// median of each and the ratio ours/raw. Run: mpirun -np 2 bench_allreduce [--reps N]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double now() {
  return MPI_Wtime();
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 20;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::max(3, std::atoi(argv[i + 1]));
  }
  auto comm = ecg::comm::make_communicator("mpi", 120.0);
  const int rank = comm->rank();
  if (rank == 0) {
    std::printf("bench_allreduce: %d ranks, float32 sum in place, median of %d reps\n",
                comm->size(), reps);
    std::printf("%12s %14s %14s %10s %12s\n", "bytes", "raw_MPI_ms", "ecg_comm_ms", "ratio",
                "ecg_GB/s");
  }
  const std::vector<size_t> sizes = {4 << 10, 64 << 10, 1 << 20, 4 << 20, 25 << 20};
  for (size_t bytes : sizes) {
    const size_t count = bytes / sizeof(float);
    std::vector<float> a(count, 1.0f), b(count, 1.0f);
    std::vector<double> raw, ours;
    for (int rep = -2; rep < reps; ++rep) {  // two warm-up rounds
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = now();
      MPI_Allreduce(MPI_IN_PLACE, a.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      const double t_raw = now() - t0;
      MPI_Barrier(MPI_COMM_WORLD);
      t0 = now();
      comm->all_reduce_async(b.data(), count, ecg::comm::DType::f32, ecg::comm::ReduceOp::sum,
                             "bench")
          ->wait();
      const double t_ours = now() - t0;
      if (rep >= 0) {
        raw.push_back(t_raw);
        ours.push_back(t_ours);
      }
      // Keep values bounded (powers of the world size would overflow after many reps).
      std::fill(a.begin(), a.end(), 1.0f);
      std::fill(b.begin(), b.end(), 1.0f);
    }
    // The slowest rank decides: reduce the medians with max.
    double med[2] = {median(raw), median(ours)};
    MPI_Allreduce(MPI_IN_PLACE, med, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
      std::printf("%12zu %14.4f %14.4f %10.3f %12.3f\n", bytes, med[0] * 1e3, med[1] * 1e3,
                  med[1] / med[0], bytes / med[1] / 1e9);
    }
  }
  comm.reset();
  ecg::comm::finalize();
  return 0;
}
