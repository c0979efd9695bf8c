// The MPI backend: host buffers, non-blocking collectives on a private duplicate of
// MPI_COMM_WORLD, every wait bounded by the timeout.
//
// Threading: we ask for MPI_THREAD_MULTIPLE. When the library grants less, every MPI call of this
// class is serialised by one mutex (enough for MPI_THREAD_SERIALIZED), and for FUNNELED/SINGLE
// the calls are additionally checked to come from the thread that created the communicator (an
// ecg::Error otherwise). The one deliberate exception is abort(): it may be called from the
// watchdog thread because the process is being torn down anyway.
//
// Progress: Open MPI here has no asynchronous progress thread, so an MPI_Iallreduce only advances
// inside MPI calls; Request::test() (MPI_Test) is how the owner drives it between other work.
#pragma once

#include <mpi.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "comm/communicator.h"

namespace ecg::comm {

class MpiCommunicator final : public Communicator {
 public:
  // Initialises MPI when nobody did (singleton runs without mpirun get world size 1).
  explicit MpiCommunicator(double timeout_seconds);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }
  Device device() const override { return Device::cpu; }

  std::unique_ptr<Request> all_reduce_async(void* data, size_t count, DType type, ReduceOp op,
                                            const std::string& what) override;
  void broadcast_host(void* data, size_t bytes, int root, const std::string& what) override;
  void barrier(const std::string& what) override;
  void all_gather_host(const void* in, void* out, size_t bytes, const std::string& what) override;

  void set_timeout(double seconds) override;
  double timeout() const override { return timeout_; }

  [[noreturn]] void abort(int exit_code) override;

  // The thread level MPI granted (MPI_THREAD_SINGLE .. MPI_THREAD_MULTIPLE).
  int thread_level() const { return thread_level_; }
  MPI_Comm handle() const { return comm_; }

  // --- used by MpiRequest ---
  // Locks the MPI mutex when the thread level requires it (no-op lock under MULTIPLE).
  std::unique_lock<std::mutex> lock_mpi() const;
  // Starts a non-blocking op through `start` and waits for it: the shared shape of barrier,
  // broadcast and all-gather.
  void run_bounded(const std::string& what, const std::function<int(MPI_Request*)>& start);

 private:
  double timeout_ = 0;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  int thread_level_ = MPI_THREAD_SINGLE;
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Op bf16_sum_ = MPI_OP_NULL;  // DType::bf16 sums (MPI has no bf16 type)
  std::thread::id owner_thread_;
  mutable std::mutex mpi_mutex_;
};

// A non-blocking MPI collective. wait() polls MPI_Test until done or until the communicator's
// timeout has passed since wait() began; then it throws an ecg::Error naming the operation, the
// rank and the time waited. After a timeout the request stays pending (MPI forbids freeing a
// pending collective request): wait() may be called again (e.g. once the peer arrived), and the
// buffer must outlive it. The normal continuation of a timeout is the fatal path (abort).
class MpiRequest final : public Request {
 public:
  MpiRequest(MpiCommunicator& comm, MPI_Request request, std::string what);
  ~MpiRequest() override;
  bool test() override;
  void wait() override;
  const std::string& what() const { return what_; }

 private:
  MpiCommunicator& comm_;
  MPI_Request request_;
  std::string what_;
  bool done_ = false;
};

// ecgdist's defaults for Open MPI parameters nobody set, applied to this process's environment
// before MPI_Init (MpiCommunicator calls it when it initialises MPI; a host program that
// initialises MPI itself calls it first): the ring algorithm for MPI_Iallreduce.
void set_mpi_defaults();

// "rank R: <what> did not complete within --timeout Ns (waited Es)": the one-line message of a
// collective that timed out.
std::string timeout_message(int rank, const std::string& what, double timeout_s, double waited_s);

}  // namespace ecg::comm
