#include "trainer/finetune/split_scores.h"

#include <torch/torch.h>

#include <algorithm>

#include "eval/run_outputs.h"
#include "trainer/finetune/evaluation.h"

namespace ecg::finetune {

eval::MetricReport score_split(const TaskData& data, const std::vector<int64_t>& records,
                               const std::vector<float>& probs, int resamples, uint64_t seed,
                               const std::string& predictions_csv) {
  eval::LabelScores scores;
  scores.records = records.size();
  scores.labels = static_cast<size_t>(data.num_classes());
  scores.scores = probs;
  scores.targets = gather_targets(data.labels.values, data.num_classes(), records);
  scores.names = data.classes();
  eval::BootstrapOptions boot;
  boot.resamples = resamples;
  boot.seed = seed;
  // The other ranks wait at the outputs' barrier meanwhile: this rank's share of the node's cores.
  boot.threads = std::max(1, torch::get_num_threads());
  eval::MetricReport report = eval::evaluate_metrics(scores, boot);
  std::vector<int64_t> ids;
  ids.reserve(records.size());
  for (int64_t i : records) ids.push_back(data.file.ecg_id[static_cast<size_t>(i)]);
  eval::write_predictions_csv(predictions_csv, ids, data.classes(), probs);
  return report;
}

}  // namespace ecg::finetune
