#include "comm/mpi_communicator.h"

#include <atomic>
#include <climits>
#include <cstdlib>

#include "comm/mpi_error.h"
#include "common/error.h"
#include "common/log.h"

namespace ecg::comm {
namespace {

// Set when MpiCommunicator called MPI_Init_thread, so that finalize() only finalises what we
// started (a test main or a host program that initialised MPI finalises it itself).
// finalize() (communicator.h) is registered with atexit when we initialise.
std::atomic<bool> g_initialised_here{false};

MPI_Datatype to_mpi(DType t) {
  switch (t) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::i32:
      return MPI_INT32_T;
    case DType::i64:
      return MPI_INT64_T;
    case DType::u8:
      return MPI_UINT8_T;
  }
  ECG_FAIL("unknown DType {}", static_cast<int>(t));
}

MPI_Op to_mpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return MPI_SUM;
    case ReduceOp::max:
      return MPI_MAX;
    case ReduceOp::min:
      return MPI_MIN;
  }
  ECG_FAIL("unknown ReduceOp {}", static_cast<int>(op));
}

int checked_int(size_t n, const std::string& what) {
  ECG_CHECK(n <= static_cast<size_t>(INT_MAX),
            "'{}': {} elements exceed MPI's int count limit; split the buffer", what, n);
  return static_cast<int>(n);
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    default:
      return "MPI_THREAD_MULTIPLE";
  }
}

}  // namespace

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return fmt::format("MPI error {}", code);
  return std::string(text, static_cast<size_t>(len));
}

std::string timeout_message(int rank, const std::string& what, double timeout_s, double waited_s) {
  return fmt::format(
      "rank {}: '{}' did not complete within --timeout {}s (waited {:.1f}s); a peer rank is "
      "missing, stuck or dead",
      rank, what, timeout_s, waited_s);
}

void finalize() {
  if (!g_initialised_here.exchange(false)) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

MpiCommunicator::MpiCommunicator(double timeout_seconds)
    : owner_thread_(std::this_thread::get_id()) {
  set_timeout(timeout_seconds);
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = MPI_THREAD_SINGLE;
    ECG_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) == MPI_SUCCESS,
              "MPI_Init_thread failed (is this process started by mpirun/srun?)");
    g_initialised_here = true;
    std::atexit([] { finalize(); });
  }
  MPI_Query_thread(&thread_level_);
  ECG_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "duplicating MPI_COMM_WORLD");
  // Errors come back as codes so ECG_MPI_CHECK can turn them into one-line ecg::Errors.
  ECG_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "setting the MPI error handler");
  ECG_MPI_CHECK(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  ECG_MPI_CHECK(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  MPI_Comm local = MPI_COMM_NULL;
  ECG_MPI_CHECK(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
                "splitting the node-local communicator");
  ECG_MPI_CHECK(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank (node-local)");
  ECG_MPI_CHECK(MPI_Comm_size(local, &local_size_), "MPI_Comm_size (node-local)");
  MPI_Comm_free(&local);
  if (thread_level_ < MPI_THREAD_MULTIPLE) {
    ecg::log::warn(
        "MPI granted {} (asked for MPI_THREAD_MULTIPLE): MPI calls are serialised{}",
        thread_level_name(thread_level_),
        thread_level_ < MPI_THREAD_SERIALIZED ? " and restricted to the main thread" : "");
  }
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::set_timeout(double seconds) {
  ECG_CHECK(seconds >= 0, "--timeout must be >= 0 seconds (0 = none), got {}", seconds);
  timeout_ = seconds;
}

std::unique_lock<std::mutex> MpiCommunicator::lock_mpi() const {
  if (thread_level_ >= MPI_THREAD_MULTIPLE) return {};
  if (thread_level_ < MPI_THREAD_SERIALIZED) {
    ECG_CHECK(std::this_thread::get_id() == owner_thread_,
              "MPI call from a second thread, but MPI granted only {} (build Open MPI with "
              "thread support or keep collectives on the main thread)",
              thread_level_name(thread_level_));
  }
  return std::unique_lock<std::mutex>(mpi_mutex_);
}

std::unique_ptr<Request> MpiCommunicator::all_reduce_async(void* data, size_t count, DType type,
                                                           ReduceOp op, const std::string& what) {
  const int n = checked_int(count, what);
  MPI_Request request = MPI_REQUEST_NULL;
  {
    auto lock = lock_mpi();
    ECG_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, n, to_mpi(type), to_mpi(op), comm_, &request),
                  "rank {}: starting all-reduce '{}' ({} x {})", rank_, what, count,
                  dtype_name(type));
  }
  return std::make_unique<MpiRequest>(*this, request, what);
}

void MpiCommunicator::run_bounded(const std::string& what,
                                  const std::function<int(MPI_Request*)>& start) {
  MPI_Request request = MPI_REQUEST_NULL;
  {
    auto lock = lock_mpi();
    ECG_MPI_CHECK(start(&request), "rank {}: starting '{}'", rank_, what);
  }
  MpiRequest(*this, request, what).wait();
}

void MpiCommunicator::broadcast_host(void* data, size_t bytes, int root, const std::string& what) {
  ECG_CHECK(root >= 0 && root < size_, "broadcast '{}': root {} outside 0..{}", what, root,
            size_ - 1);
  const int n = checked_int(bytes, what);
  run_bounded(what, [&](MPI_Request* r) { return MPI_Ibcast(data, n, MPI_BYTE, root, comm_, r); });
}

void MpiCommunicator::barrier(const std::string& what) {
  run_bounded(what, [&](MPI_Request* r) { return MPI_Ibarrier(comm_, r); });
}

void MpiCommunicator::all_gather_host(const void* in, void* out, size_t bytes,
                                      const std::string& what) {
  const int n = checked_int(bytes, what);
  run_bounded(what, [&](MPI_Request* r) {
    return MPI_Iallgather(in, n, MPI_BYTE, out, n, MPI_BYTE, comm_, r);
  });
}

void MpiCommunicator::abort(int exit_code) {
  // Deliberately without lock_mpi(): this may run on the watchdog thread while the main thread
  // sits inside MPI_Test; the job is going down either way.
  int initialised = 0, finalized = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalized);
  if (initialised && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

MpiRequest::MpiRequest(MpiCommunicator& comm, MPI_Request request, std::string what)
    : comm_(comm), request_(request), what_(std::move(what)) {}

MpiRequest::~MpiRequest() {
  if (!done_) {
    // Freeing a pending collective request is erroneous in MPI; we leak it. This only happens
    // after a timeout or an exception, on the way to the fatal path.
    ecg::log::debug("rank {}: '{}' destroyed while still pending", comm_.rank(), what_);
  }
}

bool MpiRequest::test() {
  if (done_) return true;
  int flag = 0;
  auto lock = comm_.lock_mpi();
  ECG_MPI_CHECK(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "rank {}: '{}'", comm_.rank(),
                what_);
  done_ = flag != 0;
  return done_;
}

void MpiRequest::wait() {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const double timeout = comm_.timeout();
  // Spin on MPI_Test first (lowest latency: this is what MPI_Wait does too), then back off to
  // short sleeps so a rank waiting for a straggler does not burn a core another rank needs.
  constexpr auto kSpin = std::chrono::milliseconds(10);
  while (!test()) {
    const auto now = clock::now();
    const double waited = std::chrono::duration<double>(now - start).count();
    if (timeout > 0 && waited > timeout) {
      ECG_FAIL("{}", timeout_message(comm_.rank(), what_, timeout, waited));
    }
    if (now - start < kSpin) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

}  // namespace ecg::comm
