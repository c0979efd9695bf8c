// Wall-clock intervals for step timings and run summaries: one steady clock for the code base.
#pragma once

#include <chrono>

namespace ecg {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace ecg
