#include "comm/mpi_communicator.h"

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

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
    case DType::bf16:
      return MPI_UINT16_T;  // reduced only by the bf16 sum below, never by a predefined op
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

// bfloat16 <-> float32 by bits: a bf16 is the upper half of a float32; rounding to nearest even
// as PyTorch and NCCL do, NaN kept NaN (quiet).
float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// MPI has no bf16 type in Open MPI 4.1: a user-defined, commutative sum over 16-bit words.
// Each partial sum is formed in float32 and rounded once to bf16.
extern "C" void bf16_sum(void* in, void* inout, int* len, MPI_Datatype* /*type*/) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = float_to_bf16(bf16_to_float(a[i]) + bf16_to_float(b[i]));
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

void set_mpi_defaults() {
  // Open MPI 4.1 serves MPI_Iallreduce from coll/libnbc, which picks the binomial tree (reduce to
  // rank 0, then broadcast) for every in-place buffer and for fewer than 4 ranks, whatever the
  // size. For gradient buckets that doubles rank 0's traffic (3 ranks: ~2x the bytes a ring
  // moves through rank 0's link) and serialises the two halves; over TCP links it cost more than
  // half the throughput (docs/cluster.md). The ring moves 2 (p-1)/p of the buffer per link in
  // both directions at once. overwrite = 0: a value from the user (mpirun -x, --mca, --tune
  // file, environment) wins.
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", /*overwrite=*/0);
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
    set_mpi_defaults();
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
  ECG_MPI_CHECK(MPI_Op_create(&bf16_sum, /*commute=*/1, &bf16_sum_), "creating the bf16 sum");
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
  if (finalized) return;
  if (bf16_sum_ != MPI_OP_NULL) MPI_Op_free(&bf16_sum_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
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
  ECG_CHECK(type != DType::bf16 || op == ReduceOp::sum,
            "all-reduce '{}': bf16 buffers can only be summed", what);
  const MPI_Op mpi_op = type == DType::bf16 ? bf16_sum_ : to_mpi(op);
  MPI_Request request = MPI_REQUEST_NULL;
  {
    auto lock = lock_mpi();
    ECG_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, n, to_mpi(type), mpi_op, comm_, &request),
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
