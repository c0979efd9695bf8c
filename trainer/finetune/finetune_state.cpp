#include "trainer/finetune/finetune_state.h"

#include <cmath>

namespace ecg::finetune {

void to_json(nlohmann::json& j, const FinetuneState& s) {
  j = {{"history", s.history},       {"early_stopping", s.early_stopping}, {"best_stage", s.best_stage},
       {"best_epoch", s.best_epoch}, {"stopped_early", s.stopped_early},
       {"early_stop_epoch", s.early_stop_epoch}};
  // JSON has no infinity: "no best yet" is null.
  j["best_score"] = std::isfinite(s.best_score) ? nlohmann::json(s.best_score) : nlohmann::json();
}

void from_json(const nlohmann::json& j, FinetuneState& s) {
  j.at("history").get_to(s.history);
  s.early_stopping = j.at("early_stopping");
  j.at("best_stage").get_to(s.best_stage);
  j.at("best_epoch").get_to(s.best_epoch);
  j.at("stopped_early").get_to(s.stopped_early);
  s.early_stop_epoch = j.value("early_stop_epoch", 0);  // absent in checkpoints before the field
  s.best_score = j.at("best_score").is_null() ? -std::numeric_limits<double>::infinity()
                                              : j.at("best_score").get<double>();
}

}  // namespace ecg::finetune
