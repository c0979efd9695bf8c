#include "trainer/engine/train_state.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ecg::engine {

#define ECG_STATE_FIELDS(X)                                                                   \
  X(stage_index) X(epoch) X(step) X(global_step) X(epoch_loss_sum) X(epoch_loss_steps)         \
  X(epoch_seconds) X(stopped_early) X(skipped_nonfinite) X(samples_seen) X(train_seconds)      \
  X(step_seconds)
// Added later: checkpoints written before them resume with zeros (statistics only).
#define ECG_STATE_COUNTERS(X) X(allreduce_bytes) X(allreduce_seconds) X(allreduce_wait_seconds)

void to_json(nlohmann::json& j, const TrainState& s) {
  j = nlohmann::json::object();
#define X(name) j[#name] = s.name;
  ECG_STATE_FIELDS(X)
  ECG_STATE_COUNTERS(X)
#undef X
}

void from_json(const nlohmann::json& j, TrainState& s) {
#define X(name) j.at(#name).get_to(s.name);
  ECG_STATE_FIELDS(X)
#undef X
#define X(name) \
  if (j.contains(#name)) j.at(#name).get_to(s.name);
  ECG_STATE_COUNTERS(X)
#undef X
}

double TrainState::epoch_mean_loss() const {
  return epoch_loss_steps > 0 ? epoch_loss_sum / static_cast<double>(epoch_loss_steps)
                              : std::numeric_limits<double>::quiet_NaN();
}

void TrainState::next_epoch() {
  ++epoch;
  step = 0;
  epoch_loss_sum = 0;
  epoch_loss_steps = 0;
  epoch_seconds = 0;
}

nlohmann::json allreduce_json(const TrainState& s, GradDType wire) {
  const double hidden = s.allreduce_hidden_fraction();
  return {{"dtype", wire},
          {"bytes", s.allreduce_bytes},
          {"seconds", s.allreduce_seconds},
          {"wait_seconds", s.allreduce_wait_seconds},
          {"hidden_fraction", std::isnan(hidden) ? nlohmann::json() : nlohmann::json(hidden)}};
}

double TrainState::allreduce_hidden_fraction() const {
  if (allreduce_seconds <= 0) return std::numeric_limits<double>::quiet_NaN();
  return std::clamp(1.0 - allreduce_wait_seconds / allreduce_seconds, 0.0, 1.0);
}

double TrainState::samples_per_second() const {
  return step_seconds > 0 ? static_cast<double>(samples_seen) / step_seconds : 0.0;
}

}  // namespace ecg::engine
