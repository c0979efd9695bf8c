#include "eval/early_stopping.h"

#include <cmath>

#include "common/error.h"

namespace ecg::eval {

EarlyStopping::EarlyStopping(int patience, double min_delta)
    : patience_(patience), min_delta_(min_delta) {
  ECG_CHECK(patience >= 0, "early stopping: patience must be >= 0, got {}", patience);
  ECG_CHECK(std::isfinite(min_delta) && min_delta >= 0,
            "early stopping: min delta must be >= 0, got {}", min_delta);
}

bool EarlyStopping::update(int epoch, double score) {
  ECG_CHECK(epoch > last_epoch_,
            "early stopping: epoch {} recorded after epoch {} (epochs must increase)", epoch,
            last_epoch_);
  last_epoch_ = epoch;
  const bool improved =
      std::isfinite(score) && (best_epoch_ < 0 || score > best_score_ + min_delta_);
  if (improved) {
    best_epoch_ = epoch;
    best_score_ = score;
    epochs_without_improvement_ = 0;
  } else {
    ++epochs_without_improvement_;
  }
  return improved;
}

nlohmann::json EarlyStopping::to_json() const {
  return {{"patience", patience_},
          {"min_delta", min_delta_},
          {"best_epoch", best_epoch_},
          // JSON has no NaN/inf; before the first finite score there is no best score.
          {"best_score", best_epoch_ >= 0 ? nlohmann::json(best_score_) : nlohmann::json(nullptr)},
          {"epochs_without_improvement", epochs_without_improvement_},
          {"last_epoch", last_epoch_}};
}

namespace {

template <typename T>
T field(const nlohmann::json& state, const char* name) {
  ECG_CHECK(state.is_object(), "early stopping state: expected a JSON object, got {}",
            state.type_name());
  ECG_CHECK(state.contains(name), "early stopping state: missing field '{}'", name);
  try {
    return state.at(name).get<T>();
  } catch (const nlohmann::json::exception& e) {
    ECG_FAIL("early stopping state: field '{}' has the wrong type ({})", name, e.what());
  }
}

}  // namespace

EarlyStopping EarlyStopping::from_json(const nlohmann::json& state) {
  EarlyStopping out(field<int>(state, "patience"), field<double>(state, "min_delta"));
  out.best_epoch_ = field<int>(state, "best_epoch");
  out.epochs_without_improvement_ = field<int>(state, "epochs_without_improvement");
  out.last_epoch_ = field<int>(state, "last_epoch");
  ECG_CHECK(state.contains("best_score"), "early stopping state: missing field 'best_score'");
  if (out.best_epoch_ >= 0) out.best_score_ = field<double>(state, "best_score");
  ECG_CHECK(out.best_epoch_ >= -1 && out.best_epoch_ <= out.last_epoch_,
            "early stopping state: best_epoch {} is not in [-1, last_epoch {}]", out.best_epoch_,
            out.last_epoch_);
  ECG_CHECK(out.epochs_without_improvement_ >= 0,
            "early stopping state: epochs_without_improvement {} is negative",
            out.epochs_without_improvement_);
  return out;
}

}  // namespace ecg::eval
