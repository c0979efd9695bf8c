// ECG_MPI_CHECK: the MPI flavour of the error idiom. Our communicators set MPI_ERRORS_RETURN, so
// every MPI call returns a code; a failing one becomes an ecg::Error whose message ends with MPI's
// own description (MPI_Error_string).
#pragma once

#include <mpi.h>

#include <string>

#include "common/error.h"

namespace ecg::comm {
std::string mpi_error_string(int code);
}  // namespace ecg::comm

// ECG_MPI_CHECK(MPI_Iallreduce(...), "all-reduce of {}", what)
#define ECG_MPI_CHECK(call, ...)                                                         \
  do {                                                                                   \
    const int ecg_mpi_rc_ = (call);                                                      \
    if (ecg_mpi_rc_ != MPI_SUCCESS)                                                      \
      ::ecg::throw_error(                                                                \
          __FILE__, __LINE__,                                                            \
          fmt::format(__VA_ARGS__) + ": " + ::ecg::comm::mpi_error_string(ecg_mpi_rc_)); \
  } while (0)
