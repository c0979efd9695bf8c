#include "comm/nccl_communicator.h"

#include <chrono>
#include <thread>

#include "common/log.h"

namespace ecg::comm {
namespace {

ncclDataType_t to_nccl(DType t) {
  switch (t) {
    case DType::f32:
      return ncclFloat32;
    case DType::f64:
      return ncclFloat64;
    case DType::i32:
      return ncclInt32;
    case DType::i64:
      return ncclInt64;
    case DType::u8:
      return ncclUint8;
    case DType::bf16:
      return ncclBfloat16;  // NCCL >= 2.10
  }
  ECG_FAIL("unknown DType {}", static_cast<int>(t));
}

ncclRedOp_t to_nccl(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return ncclSum;
    case ReduceOp::max:
      return ncclMax;
    case ReduceOp::min:
      return ncclMin;
  }
  ECG_FAIL("unknown ReduceOp {}", static_cast<int>(op));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A launched NCCL all-reduce: done when the event recorded after it on the communication stream
// has fired. Polling also watches NCCL's asynchronous error state, so a dead peer (which leaves
// the kernel spinning forever) becomes an error instead of a hang.
class NcclRequest final : public Request {
 public:
  NcclRequest(NcclCommunicator& comm, cudaEvent_t done, std::string what)
      : comm_(comm), done_event_(done), what_(std::move(what)) {}
  ~NcclRequest() override { cudaEventDestroy(done_event_); }

  bool test() override {
    if (done_) return true;
    const cudaError_t rc = cudaEventQuery(done_event_);
    if (rc == cudaSuccess) return done_ = true;
    if (rc != cudaErrorNotReady) {
      comm_.fail(fmt::format("rank {}: '{}' failed on the GPU: {}", comm_.rank(), what_,
                             cudaGetErrorString(rc)),
                 __FILE__, __LINE__);
    }
    comm_.check_async_error(what_);
    return false;
  }

  void wait() override {
    const auto start = std::chrono::steady_clock::now();
    const double timeout = comm_.timeout();
    while (!test()) {
      const double waited = seconds_since(start);
      if (timeout > 0 && waited > timeout) {
        comm_.fail(timeout_message(comm_.rank(), what_, timeout, waited), __FILE__, __LINE__);
      }
      std::this_thread::yield();
    }
  }

 private:
  NcclCommunicator& comm_;
  cudaEvent_t done_event_;
  std::string what_;
  bool done_ = false;
};

}  // namespace

bool nccl_cuda_device_visible(std::string* why) {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess) {
    if (why) *why = cudaGetErrorString(rc);
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device";
    return false;
  }
  return true;
}

NcclCommunicator::NcclCommunicator(double timeout_seconds)
    : mpi_(std::make_unique<MpiCommunicator>(timeout_seconds)) {
  int devices = 0;
  ECG_CUDA_CHECK(cudaGetDeviceCount(&devices), "rank {}: NCCL backend: counting CUDA devices",
                 rank());
  ECG_CHECK(local_rank() < devices,
            "rank {}: NCCL backend: local rank {} of {} on this node but only {} CUDA device(s) "
            "visible (start one rank per GPU)",
            rank(), local_rank(), local_size(), devices);
  device_ = local_rank();
  ECG_CUDA_CHECK(cudaSetDevice(device_), "rank {}: selecting CUDA device {}", rank(), device_);
  ECG_CUDA_CHECK(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking),
                 "rank {}: creating the communication stream", rank());

  ncclUniqueId id{};
  if (rank() == 0) ECG_NCCL_CHECK(ncclGetUniqueId(&id), "rank 0: ncclGetUniqueId");
  mpi_->broadcast_host(&id, sizeof(id), 0, "NCCL unique id broadcast");

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every NCCL call returns at once; we poll with our timeout
  ECG_NCCL_CHECK(ncclCommInitRankConfig(&comm_, size(), id, rank(), &config),
                 "rank {}: ncclCommInitRankConfig", rank());
  wait_ready("NCCL communicator initialisation");
  ecg::log::info("NCCL backend: {} ranks, rank {} on CUDA device {}", size(), rank(), device_);
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ && !aborted_) {
    // Flush, then destroy; a peer that is gone makes finalize hang, so it is bounded and falls
    // back to abort. No throwing from a destructor.
    try {
      ECG_NCCL_CHECK(ncclCommFinalize(comm_), "rank {}: ncclCommFinalize", rank());
      wait_ready("NCCL communicator finalisation");
      ncclCommDestroy(comm_);
    } catch (const ecg::Error& e) {
      ecg::log::warn("{}", e.message());
    }
  }
  if (comm_stream_) cudaStreamDestroy(comm_stream_);
}

void NcclCommunicator::wait_ready(const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  ncclResult_t state = ncclInProgress;
  while (true) {
    ECG_NCCL_CHECK(ncclCommGetAsyncError(comm_, &state), "rank {}: ncclCommGetAsyncError ({})",
                   rank(), what);
    if (state == ncclSuccess) return;
    if (state != ncclInProgress) {
      fail(fmt::format("rank {}: '{}': {}", rank(), what, ncclGetErrorString(state)), __FILE__,
           __LINE__);
    }
    const double waited = seconds_since(start);
    if (timeout() > 0 && waited > timeout()) {
      fail(timeout_message(rank(), what, timeout(), waited), __FILE__, __LINE__);
    }
    std::this_thread::yield();
  }
}

void NcclCommunicator::check_async_error(const std::string& what) {
  ncclResult_t state = ncclSuccess;
  ECG_NCCL_CHECK(ncclCommGetAsyncError(comm_, &state), "rank {}: ncclCommGetAsyncError ({})",
                 rank(), what);
  if (state != ncclSuccess && state != ncclInProgress) {
    fail(fmt::format("rank {}: '{}': NCCL reported {}", rank(), what, ncclGetErrorString(state)),
         __FILE__, __LINE__);
  }
}

void NcclCommunicator::fail(const std::string& message, const char* file, int line) {
  if (comm_ && !aborted_) {
    aborted_ = true;
    ncclCommAbort(comm_);
  }
  throw_error(file, line, message);
}

std::unique_ptr<Request> NcclCommunicator::all_reduce_async(void* data, size_t count, DType type,
                                                            ReduceOp op, const std::string& what) {
  ECG_CHECK(!aborted_, "rank {}: '{}': the NCCL communicator was aborted after an earlier error",
            rank(), what);
  // Order the collective after the gradient producers on the compute stream, without blocking
  // the host or the compute stream.
  cudaEvent_t ready = nullptr, done = nullptr;
  ECG_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming),
                 "rank {}: event for '{}'", rank(), what);
  ECG_CUDA_CHECK(cudaEventRecord(ready, compute_stream_), "rank {}: recording '{}' readiness",
                 rank(), what);
  ECG_CUDA_CHECK(cudaStreamWaitEvent(comm_stream_, ready, 0), "rank {}: ordering '{}'", rank(),
                 what);
  cudaEventDestroy(ready);  // safe: destruction is deferred until the event completes
  ECG_NCCL_CHECK(ncclAllReduce(data, data, count, to_nccl(type), to_nccl(op), comm_, comm_stream_),
                 "rank {}: launching '{}'", rank(), what);
  wait_ready(what);  // non-blocking communicator: the enqueue itself may still be in progress
  ECG_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "rank {}: event for '{}'",
                 rank(), what);
  ECG_CUDA_CHECK(cudaEventRecord(done, comm_stream_), "rank {}: recording '{}' completion", rank(),
                 what);
  return std::make_unique<NcclRequest>(*this, done, what);
}

void NcclCommunicator::abort(int exit_code) {
  if (comm_ && !aborted_) {
    aborted_ = true;
    ncclCommAbort(comm_);
  }
  mpi_->abort(exit_code);
}

}  // namespace ecg::comm
