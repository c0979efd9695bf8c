// Early stopping on a validation score that should rise (macro AUROC): remembers the best epoch
// and score and stops after `patience` consecutive evaluated epochs without improvement. The state
// is JSON-serialisable so that a preempted run resumes with the same counter and best epoch (a
// resumed run must decide exactly as an uninterrupted one).
#pragma once

#include <nlohmann/json.hpp>

namespace ecg::eval {

class EarlyStopping {
 public:
  // patience: epochs without improvement before stopping; 0 disables stopping (the best epoch is
  // still tracked). min_delta: a score must exceed best + min_delta to count as an improvement.
  explicit EarlyStopping(int patience = 0, double min_delta = 0.0);

  // Records the validation score of `epoch` (strictly increasing across calls; a repeated or
  // earlier epoch throws, which catches a resume that evaluates an epoch twice). Returns true when
  // the score is a new best (the caller then saves the best checkpoint). A NaN score (e.g. no
  // evaluable label) never improves.
  bool update(int epoch, double score);

  bool should_stop() const { return patience_ > 0 && epochs_without_improvement_ >= patience_; }
  bool has_best() const { return best_epoch_ >= 0; }
  int best_epoch() const { return best_epoch_; }  // -1 before the first finite score
  double best_score() const { return best_score_; }
  int epochs_without_improvement() const { return epochs_without_improvement_; }
  int last_epoch() const { return last_epoch_; }
  int patience() const { return patience_; }
  double min_delta() const { return min_delta_; }

  nlohmann::json to_json() const;
  // Throws (one line naming the field) on a missing or ill-typed field.
  static EarlyStopping from_json(const nlohmann::json& state);

 private:
  int patience_;
  double min_delta_;
  int best_epoch_ = -1;
  double best_score_ = 0.0;
  int epochs_without_improvement_ = 0;
  int last_epoch_ = -1;
};

}  // namespace ecg::eval
