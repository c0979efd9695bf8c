#include "op_profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "common/error.h"

namespace ecg::bench {
namespace {

using torch::autograd::profiler::EventKind;
using torch::autograd::profiler::LegacyEvent;

struct Open {
  const LegacyEvent* push;
  double children_us = 0;
};

// Self time per op name over one thread's events: pushes and pops nest on a thread, so a stack
// pairs them; an op's self time is its span less its children's spans.
void add_thread(const std::vector<LegacyEvent>& events, std::map<std::string, OpTime>& by_name) {
  std::vector<Open> stack;
  for (const auto& e : events) {
    if (e.kind() == EventKind::PushRange) {
      stack.push_back({&e});
    } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
      const Open open = stack.back();
      stack.pop_back();
      const double span_us = open.push->cpuElapsedUs(e);
      auto& op = by_name[open.push->name()];
      op.name = open.push->name();
      op.self_ms += (span_us - open.children_us) / 1000.0;
      op.span_ms += span_us / 1000.0;
      op.calls += 1;
      if (!stack.empty()) stack.back().children_us += span_us;
    }
  }
}

}  // namespace

OpProfile profile_ops(const std::function<void()>& step, int steps) {
  ECG_CHECK(steps > 0, "profile_ops: steps must be positive");
  // A first profile of a few steps ran 2.4x slower than the unprofiled steps around it, a second
  // one as fast as they did (LibTorch 1.13's legacy profiler; the cause was not found): a
  // throw-away profile of as many steps comes first, so the one reported matches the timed step.
  {
    torch::autograd::profiler::TLSLegacyProfilerGuard warmup(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    for (int i = 0; i < steps; ++i) step();
  }
  torch::autograd::profiler::thread_event_lists lists;
  const auto t0 = std::chrono::steady_clock::now();
  {
    torch::autograd::profiler::TLSLegacyProfilerGuard guard(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU),
        [&lists](const torch::autograd::profiler::thread_event_lists& result) { lists = result; });
    for (int i = 0; i < steps; ++i) step();
  }
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, OpTime> by_name;
  for (const auto& events : lists) add_thread(events, by_name);
  OpProfile profile;
  profile.step_ms = wall_ms / steps;
  for (auto& [name, op] : by_name) {
    op.self_ms /= steps;
    op.span_ms /= steps;
    op.calls /= steps;
    profile.ops.push_back(op);
  }
  std::sort(profile.ops.begin(), profile.ops.end(),
            [](const OpTime& a, const OpTime& b) { return a.self_ms > b.self_ms; });
  return profile;
}

void print_phases(const OpProfile& profile) {
  std::printf("  phases:");
  for (const char* phase : {"phase: forward", "phase: backward", "phase: optimizer"}) {
    for (const auto& op : profile.ops) {
      if (op.name != phase) continue;
      std::printf("  %s %.1f ms (%.1f%%)", phase + 7, op.span_ms, 100.0 * op.span_ms / profile.step_ms);
    }
  }
  std::printf("\n");
}

void print_op_profile(const OpProfile& profile, int top) {
  double total = 0;
  for (const auto& op : profile.ops) total += op.self_ms;
  std::printf("  %-48s %10s %7s %8s\n", "op (self time)", "ms/step", "%step", "calls");
  double rest = 0;
  int rest_ops = 0;
  for (size_t i = 0; i < profile.ops.size(); ++i) {
    const auto& op = profile.ops[i];
    if (static_cast<int>(i) >= top) {
      rest += op.self_ms;
      ++rest_ops;
      continue;
    }
    std::printf("  %-48.48s %10.2f %6.1f%% %8.0f\n", op.name.c_str(), op.self_ms,
                100.0 * op.self_ms / profile.step_ms, op.calls);
  }
  if (rest_ops > 0) {
    std::printf("  %-48s %10.2f %6.1f%%\n", fmt::format("{} other ops", rest_ops).c_str(), rest,
                100.0 * rest / profile.step_ms);
  }
  std::printf("  %-48s %10.2f %6.1f%%   (step %.2f ms while profiled)\n", "sum of self times", total,
              100.0 * total / profile.step_ms, profile.step_ms);
}

}  // namespace ecg::bench
