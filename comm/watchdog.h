// The watchdog: one Boost.Asio steady_timer on its own thread, armed around every blocking phase
// (collective, data wait, evaluation, checkpoint write). If a phase outlives its deadline the
// watchdog logs "rank R: <phase> at step S exceeded --timeout Ns" and calls the configured abort
// (MPI_Abort in ecgdist), so a stuck rank never holds the allocation until walltime — even when
// it is stuck somewhere our own polling cannot see (a hung read, a deadlocked library).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ecg::comm {

class Watchdog {
 public:
  // on_expiry(exit_code) must end the job (e.g. Communicator::abort); tests pass a recorder.
  Watchdog(int rank, std::function<void(int exit_code)> on_expiry);
  ~Watchdog();  // stops the timer thread; a pending deadline is dropped
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Starts (or replaces) the deadline for `phase` at `step`. seconds <= 0 disarms. Any thread.
  void arm(const std::string& phase, int64_t step, double seconds);
  // Clears the deadline. Any thread.
  void disarm();

  // How many deadlines expired so far (the abort normally means the answer is never read).
  int expirations() const;
  // The message of the last expiry ("" if none).
  std::string last_message() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Arms the watchdog for the lifetime of a scope: `WatchdogScope guard(wd, "data wait", step, t);`
class WatchdogScope {
 public:
  WatchdogScope(Watchdog* watchdog, const std::string& phase, int64_t step, double seconds)
      : watchdog_(watchdog) {
    if (watchdog_) watchdog_->arm(phase, step, seconds);
  }
  ~WatchdogScope() {
    if (watchdog_) watchdog_->disarm();
  }
  WatchdogScope(const WatchdogScope&) = delete;
  WatchdogScope& operator=(const WatchdogScope&) = delete;

 private:
  Watchdog* watchdog_;
};

}  // namespace ecg::comm
