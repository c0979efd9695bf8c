#include "trainer/finetune/results_json.h"

#include "eval/run_outputs.h"
#include "trainer/finetune/evaluation.h"

namespace ecg::finetune {

nlohmann::json make_results_json(const TrainOptions& options, const TaskData& data, const FinetuneState& state,
                                 const engine::TrainState& engine, const eval::MetricReport& test, int world_size,
                                 double wall_seconds) {
  nlohmann::json metrics = eval::to_json(test);
  nlohmann::json out;
  out["task"] = options.task;
  out["recipe"] = options.recipe;
  out["settings"] = options;
  out["world_size"] = world_size;
  out["classes"] = data.classes();
  out["data"] = data.summary();
  // Which labels the test metrics (and test_predictions.csv) were scored against: `compare`
  // recomputes the hash from its --data file and refuses another one (docs/outputs.md).
  std::vector<int64_t> test_ids;
  for (int64_t i : data.test) test_ids.push_back(data.file.ecg_id[static_cast<size_t>(i)]);
  out["test_data"] = eval::test_data_json(options.data, test_ids, data.classes(),
                                          gather_targets(data.labels.values, data.num_classes(), data.test));
  out["best_stage"] = state.best_stage;
  out["best_epoch"] = state.best_epoch;
  out["best_val_macro_auroc"] =
      state.best_epoch > 0 ? nlohmann::json(state.best_score) : nlohmann::json();
  int epochs_run = 0;
  for (const auto& row : state.history) epochs_run += row.stage == static_cast<int>(monitoring::Stage::fine_tuning) || options.recipe == Recipe::linear_probe;
  out["epochs_run"] = epochs_run;
  out["epochs_run_by_stage"] = nlohmann::json::object();
  for (const auto& row : state.history) {
    auto key = std::to_string(row.stage);
    out["epochs_run_by_stage"][key] = out["epochs_run_by_stage"].value(key, 0) + 1;
  }
  out["stopped_early"] = state.stopped_early;
  out["early_stop_epoch"] = state.early_stop_epoch > 0 ? nlohmann::json(state.early_stop_epoch) : nlohmann::json();
  out["skipped_nonfinite_steps"] = engine.skipped_nonfinite;
  out["test"] = {{"records", test.records},
                 {"macro_auroc", metrics.at("macro_auroc")},
                 {"macro_auprc", metrics.at("macro_auprc")},
                 {"macro_auroc_ci", metrics.at("macro_auroc_ci")},
                 {"macro_auprc_ci", metrics.at("macro_auprc_ci")},
                 {"bootstrap", {{"resamples", test.resamples}, {"confidence", test.confidence},
                                {"seed", test.seed}, {"redraws", test.redraws}}},
                 {"evaluable_labels", test.evaluable_labels},
                 {"per_label", metrics.at("labels")}};
  out["wall_seconds"] = wall_seconds;
  out["train_seconds"] = engine.train_seconds;
  out["samples_seen"] = engine.samples_seen;
  out["train_step_seconds"] = engine.step_seconds;
  // Training throughput over all ranks: samples per second of optimiser steps (validation and
  // checkpoint time excluded).
  out["samples_per_second"] = engine.samples_per_second();
  out["gradient_allreduce"] = engine::allreduce_json(engine, options.grad_dtype);
  return out;
}

}  // namespace ecg::finetune
