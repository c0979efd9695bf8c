#include "trainer/train_state.h"

#include <cmath>
#include <limits>

namespace ecg::trainer {

#define ECG_STATE_FIELDS(X)                                                                   \
  X(stage_index) X(epoch) X(step) X(global_step) X(epoch_loss_sum) X(epoch_loss_steps)         \
  X(epoch_seconds) X(early_stopping) X(best_stage) X(best_epoch) X(stopped_early)       \
  X(history) X(skipped_nonfinite) X(samples_seen) X(train_seconds) X(step_seconds)

void to_json(nlohmann::json& j, const TrainState& s) {
  j = nlohmann::json::object();
#define X(name) j[#name] = s.name;
  ECG_STATE_FIELDS(X)
#undef X
  // JSON has no infinity: "no best yet" is null.
  j["best_score"] = std::isfinite(s.best_score) ? nlohmann::json(s.best_score) : nlohmann::json();
}

void from_json(const nlohmann::json& j, TrainState& s) {
#define X(name) j.at(#name).get_to(s.name);
  ECG_STATE_FIELDS(X)
#undef X
  s.best_score = j.at("best_score").is_null() ? -std::numeric_limits<double>::infinity()
                                              : j.at("best_score").get<double>();
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

}  // namespace ecg::trainer
