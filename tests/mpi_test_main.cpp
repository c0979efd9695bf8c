// GoogleTest main for the MPI suite (run by `mpirun -np 2`): every rank runs every test; only
// rank 0 prints the result listing, and the exit code is non-zero if any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include "comm/mpi_communicator.h"

int main(int argc, char** argv) {
  int provided = 0;
  ecg::comm::set_mpi_defaults();  // as ecgdist runs: the ring all-reduce
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int local_failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&local_failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any_failed;
}
