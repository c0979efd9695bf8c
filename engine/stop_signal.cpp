#include "engine/stop_signal.h"

#include <csignal>

#include "common/error.h"

namespace ecg::engine {
namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }
}  // namespace

void install_stop_signal(const std::string& name) {
  int sig = 0;
  if (name == "USR1") sig = SIGUSR1;
  else if (name == "USR2") sig = SIGUSR2;
  else if (name == "TERM") sig = SIGTERM;
  else if (name == "INT") sig = SIGINT;
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
