// The NCCL backend: gradients in CUDA device memory, all-reduced by NCCL on a communication
// stream ordered after the caller's compute stream. Host-side collectives (barrier, broadcast of
// host memory, all-gather, scalar reduce) go through an MPI communicator, which also carries the
// ncclUniqueId. Only compiled when CMake found CUDA + NCCL (see comm/CMakeLists.txt); the rest of
// the code base sees it through make_communicator() only.
//
// Failure: the NCCL communicator is created non-blocking (NCCL >= 2.14 config.blocking = 0), so
// initialisation, launches and completions are all polled: a request that does not finish within
// the timeout, or an asynchronous NCCL error (ncclCommGetAsyncError), aborts the NCCL
// communicator (ncclCommAbort) and throws an ecg::Error naming the operation and the rank.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <memory>
#include <string>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "common/error.h"

// ECG_CUDA_CHECK(cudaSetDevice(d), "selecting GPU {}", d)
#define ECG_CUDA_CHECK(call, ...)                                                             \
  do {                                                                                        \
    const cudaError_t ecg_cuda_rc_ = (call);                                                  \
    if (ecg_cuda_rc_ != cudaSuccess)                                                          \
      ::ecg::throw_error(__FILE__, __LINE__,                                                  \
                         fmt::format(__VA_ARGS__) + ": " + cudaGetErrorString(ecg_cuda_rc_)); \
  } while (0)

// ECG_NCCL_CHECK(ncclAllReduce(...), "all-reduce {}", what); ncclInProgress counts as success
// (non-blocking communicator: completion is polled separately).
#define ECG_NCCL_CHECK(call, ...)                                                             \
  do {                                                                                        \
    const ncclResult_t ecg_nccl_rc_ = (call);                                                 \
    if (ecg_nccl_rc_ != ncclSuccess && ecg_nccl_rc_ != ncclInProgress)                        \
      ::ecg::throw_error(__FILE__, __LINE__,                                                  \
                         fmt::format(__VA_ARGS__) + ": " + ncclGetErrorString(ecg_nccl_rc_)); \
  } while (0)

namespace ecg::comm {

class NcclCommunicator final : public Communicator {
 public:
  // Selects GPU local_rank (error if the node has fewer GPUs than local ranks) and creates the
  // NCCL communicator, bounded by the timeout.
  explicit NcclCommunicator(double timeout_seconds);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  int local_rank() const override { return mpi_->local_rank(); }
  int local_size() const override { return mpi_->local_size(); }
  std::string backend() const override { return "nccl"; }
  Device device() const override { return Device::cuda; }

  std::unique_ptr<Request> all_reduce_async(void* data, size_t count, DType type, ReduceOp op,
                                            const std::string& what) override;
  void all_reduce_host(void* data, size_t count, DType type, ReduceOp op,
                       const std::string& what) override {
    mpi_->all_reduce(data, count, type, op, what);
  }
  void broadcast_host(void* data, size_t bytes, int root, const std::string& what) override {
    mpi_->broadcast_host(data, bytes, root, what);
  }
  void barrier(const std::string& what) override { mpi_->barrier(what); }
  void all_gather_host(const void* in, void* out, size_t bytes, const std::string& what) override {
    mpi_->all_gather_host(in, out, bytes, what);
  }

  void set_timeout(double seconds) override { mpi_->set_timeout(seconds); }
  double timeout() const override { return mpi_->timeout(); }
  void set_compute_stream(void* stream) override {
    compute_stream_ = static_cast<cudaStream_t>(stream);
  }

  [[noreturn]] void abort(int exit_code) override;

  // --- used by NcclRequest ---
  // Throws (after ncclCommAbort) if NCCL reported an asynchronous error.
  void check_async_error(const std::string& what);
  // ncclCommAbort (once) and throw `message`.
  [[noreturn]] void fail(const std::string& message, const char* file, int line);
  // Polls ncclCommGetAsyncError until the communicator leaves ncclInProgress, bounded by the
  // timeout (non-blocking init, launch and finalize all end in this state).
  void wait_ready(const std::string& what);

 private:
  std::unique_ptr<MpiCommunicator> mpi_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  bool aborted_ = false;
  cudaStream_t comm_stream_ = nullptr;
  cudaStream_t compute_stream_ = nullptr;  // nullptr = legacy default stream
};

// True when a CUDA device is visible; otherwise `why` gets cudaGetErrorString of the failure
// (e.g. "CUDA driver version is insufficient for CUDA runtime version") or "no CUDA device".
bool nccl_cuda_device_visible(std::string* why);

}  // namespace ecg::comm
