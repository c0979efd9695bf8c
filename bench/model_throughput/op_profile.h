// Where a training step's time goes, op by op: LibTorch's own profiler (the legacy CPU one: the
// Kineto profiler is not built into Debian's LibTorch 1.13) around a few steps, reduced to the
// self time of each op (its time minus the ops it called) per step, largest first. On the CPU
// every op runs synchronously on the thread that calls it, so self times add up to the step.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace ecg::bench {

struct OpTime {
  std::string name;     // "aten::bmm", "aten::_softmax", or a phase scope "step:optimizer"
  double self_ms = 0;   // per step
  double span_ms = 0;   // per step, the ops it called included
  double calls = 0;     // per step
};

struct OpProfile {
  std::vector<OpTime> ops;  // largest self time first
  double step_ms = 0;       // wall time of one step while profiled
};

// Runs `step` `steps` times under the profiler.
OpProfile profile_ops(const std::function<void()>& step, int steps);

// The step's phases (scopes named "phase: ..." around forward, backward and the optimiser), each
// with everything it ran.
void print_phases(const OpProfile& profile);

// The profile as a table: the `top` largest ops, then everything else in one line, then the total
// of the self times against the measured step (their difference is the profiler's own overhead).
void print_op_profile(const OpProfile& profile, int top);

}  // namespace ecg::bench
