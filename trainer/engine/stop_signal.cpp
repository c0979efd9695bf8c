#include "trainer/engine/stop_signal.h"

#include <array>
#include <csignal>

#include "common/error.h"

namespace ecg::engine {
namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

struct StopSignal {
  const char* name;
  int number;
};
// USR1: SLURM's --signal default in our templates; TERM: what srun sends on preemption.
constexpr std::array<StopSignal, 4> kStopSignals = {{{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"INT", SIGINT}}};
}  // namespace

const std::vector<std::string>& stop_signal_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const StopSignal& s : kStopSignals) out.emplace_back(s.name);
    return out;
  }();
  return names;
}

void install_stop_signal(const std::string& name) {
  int sig = 0;
  for (const StopSignal& s : kStopSignals) {
    if (name == s.name) sig = s.number;
  }
  ECG_CHECK(sig != 0, "--stop-signal: unknown signal '{}'", name);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ECG_CHECK(sigaction(sig, &action, nullptr) == 0, "cannot install handler for SIG{}", name);
}

bool stop_requested() { return g_stop != 0; }
void request_stop() { g_stop = 1; }
void clear_stop() { g_stop = 0; }

}  // namespace ecg::engine
