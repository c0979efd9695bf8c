#include "engine/train_state.h"

#include <limits>

namespace ecg::engine {

#define ECG_STATE_FIELDS(X)                                                                   \
  X(stage_index) X(epoch) X(step) X(global_step) X(epoch_loss_sum) X(epoch_loss_steps)         \
  X(epoch_seconds) X(stopped_early) X(skipped_nonfinite) X(samples_seen) X(train_seconds)      \
  X(step_seconds)

void to_json(nlohmann::json& j, const TrainState& s) {
  j = nlohmann::json::object();
#define X(name) j[#name] = s.name;
  ECG_STATE_FIELDS(X)
#undef X
}

void from_json(const nlohmann::json& j, TrainState& s) {
#define X(name) j.at(#name).get_to(s.name);
  ECG_STATE_FIELDS(X)
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

double TrainState::samples_per_second() const {
  return step_seconds > 0 ? static_cast<double>(samples_seen) / step_seconds : 0.0;
}

}  // namespace ecg::engine
