// The one communication interface of ecgdist, on raw buffers (no LibTorch). Backends: MPI
// (CPU ranks) and NCCL (GPU ranks; only built when CMake finds CUDA + NCCL). Which backend moves
// gradients is decided in exactly one place: comm/make_communicator.cpp.
//
// Every blocking operation is bounded by the watchdog timeout: a peer that never arrives turns
// into an ecg::Error naming the operation, never into a silent hang (nccl-tests style: poll,
// time out, abort).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ecg::comm {

// bf16: bfloat16 values as 16-bit words (the upper half of an IEEE float32). Only sums: each
// addition is done in float32 and rounded to nearest even, as NCCL's bf16 all-reduce does.
enum class DType { f32, f64, i32, i64, u8, bf16 };
enum class ReduceOp { sum, max, min };
enum class Device { cpu, cuda };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

// A non-blocking collective in flight. test() drives progress (Open MPI here has no
// asynchronous progress thread, so the owner calls test() from backward hooks); wait() blocks
// until completion or throws after the communicator's timeout.
class Request {
 public:
  virtual ~Request() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // rank among the processes of this node
  virtual int local_size() const = 0;
  virtual std::string backend() const = 0;  // "mpi", "nccl"
  virtual Device device() const = 0;        // where all_reduce buffers live

  // In-place all-reduce of `count` elements at `data` (device() memory). Starts the operation
  // and returns at once; completion via the Request.
  virtual std::unique_ptr<Request> all_reduce_async(void* data, size_t count, DType type,
                                                    ReduceOp op, const std::string& what) = 0;
  // Blocking helpers (bounded by the timeout). Host memory for the *_host calls.
  // Sums are sums: averaging is the caller's job (sum, then scale by 1/size()), because only the
  // caller knows whether to divide by world size or by a sample count.
  void all_reduce(void* data, size_t count, DType type, ReduceOp op, const std::string& what);
  // all_reduce of host memory whatever device() is (a device backend routes it through MPI).
  virtual void all_reduce_host(void* data, size_t count, DType type, ReduceOp op,
                               const std::string& what);
  virtual void broadcast_host(void* data, size_t bytes, int root, const std::string& what) = 0;
  virtual void barrier(const std::string& what) = 0;
  double all_reduce_scalar(double value, ReduceOp op, const std::string& what);
  // Gathers `bytes` from every rank to every rank: out has size()*bytes (host memory).
  virtual void all_gather_host(const void* in, void* out, size_t bytes,
                               const std::string& what) = 0;

  // Collective/data-wait timeout in seconds (0 = none).
  virtual void set_timeout(double seconds) = 0;
  virtual double timeout() const = 0;

  // Device backends order their collectives after the work queued on this stream (a
  // cudaStream_t; nullptr = the default stream). Host backends ignore it.
  virtual void set_compute_stream(void* /*stream*/) {}

  // Ends the job from any rank: used by the fatal-error path so other ranks do not hang.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// Creates the process-wide communicator. `backend`: "auto" (NCCL when built and a GPU is
// visible, else MPI), "mpi" or "nccl". Initialises MPI if needed (single process without mpirun
// works: world size 1).
std::unique_ptr<Communicator> make_communicator(const std::string& backend, double timeout_seconds);

// MPI_Finalize, if a communicator initialised MPI (idempotent; also run at exit). Call it after
// the last communicator is destroyed, on the normal path only (the fatal path calls abort()).
void finalize();

// Whether this binary carries the NCCL backend (CMake found CUDA + NCCL).
bool nccl_backend_built();
// Whether a CUDA device is visible to this process; if not and `why` is set, the reason (the CUDA
// error string, or "built without NCCL/CUDA").
bool cuda_device_visible(std::string* why);

}  // namespace ecg::comm
