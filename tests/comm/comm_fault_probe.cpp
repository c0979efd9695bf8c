// comm_fault_probe: a tiny MPI program that the core tests start under `mpirun -np 2` (or alone)
// to check the failure paths of ecg_comm end to end — a rank that throws, dies or hangs must
// bring the whole job down quickly, with a line naming the rank (and the collective). Built
// only for tests; usage: comm_fault_probe <single|throw|kill|hang|watchdog|ok>.
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "comm/communicator.h"
#include "comm/watchdog.h"
#include "common/error.h"
#include "common/log.h"

namespace {

using namespace ecg::comm;

void run(Communicator& comm, const std::string& mode) {
  comm.barrier("probe start");
  if (mode == "single" || mode == "ok") {
    const double total = comm.all_reduce_scalar(comm.rank() + 1.0, ReduceOp::sum, "probe scalar");
    ECG_CHECK(total == comm.size() * (comm.size() + 1) / 2.0, "scalar sum {} wrong", total);
    std::vector<float> v(1000, 1.5f);
    comm.all_reduce(v.data(), v.size(), DType::f32, ReduceOp::sum, "probe vector");
    ECG_CHECK(v[999] == 1.5f * comm.size(), "vector sum {} wrong", v[999]);
    int64_t token = comm.rank() == 0 ? 42 : -1;
    comm.broadcast_host(&token, sizeof(token), 0, "probe broadcast");
    ECG_CHECK(token == 42, "broadcast gave {}", token);
    std::vector<int32_t> ranks(comm.size(), -1);
    const int32_t me = comm.rank();
    comm.all_gather_host(&me, ranks.data(), sizeof(me), "probe all-gather");
    for (int r = 0; r < comm.size(); ++r) ECG_CHECK(ranks[r] == r, "all-gather slot {}", r);
    ecg::log::info("probe ok: backend {} rank {} size {} local {}/{}", comm.backend(), comm.rank(),
                   comm.size(), comm.local_rank(), comm.local_size());
    return;
  }
  if (mode == "throw") {
    if (comm.rank() == 1) ECG_FAIL("rank {}: injected failure", comm.rank());
    comm.barrier("probe barrier after injected failure");
    return;
  }
  if (mode == "kill") {
    if (comm.rank() == 1) std::raise(SIGKILL);
    double x = 1;
    comm.all_reduce(&x, 1, DType::f64, ReduceOp::sum, "probe all-reduce after kill");
    return;
  }
  if (mode == "hang") {
    // Rank 1 never joins; rank 0's bounded wait must name the collective, then abort.
    if (comm.rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(120));
    double x = 1;
    comm.all_reduce(&x, 1, DType::f64, ReduceOp::sum, "probe all-reduce nobody joins");
    return;
  }
  if (mode == "watchdog") {
    // Rank 1 is stuck outside any collective (e.g. a hung read); only the watchdog sees it.
    Watchdog watchdog(comm.rank(), [&comm](int code) { comm.abort(code); });
    if (comm.rank() == 1) {
      watchdog.arm("data wait", 7, 1.0);
      std::this_thread::sleep_for(std::chrono::seconds(120));
    }
    comm.barrier("probe barrier while rank 1 is stuck");
    return;
  }
  ECG_FAIL("unknown mode '{}' (single, ok, throw, kill, hang, watchdog)", mode);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ok";
  // The hang mode uses a short collective timeout; the others a long one, so that only MPI_Abort
  // (not our own timeout) can end them quickly.
  const double timeout = mode == "hang" ? 2.0 : 60.0;
  std::unique_ptr<Communicator> comm;
  try {
    comm = make_communicator("mpi", timeout);
    ecg::log::set_rank(comm->rank(), comm->size());
    run(*comm, mode);
  } catch (const ecg::Error& e) {
    ecg::log::error("{} ({}:{})", e.message(), e.file(), e.line());
    if (comm && comm->size() > 1) comm->abort(1);
    return 1;
  }
  comm.reset();
  finalize();
  return 0;
}
