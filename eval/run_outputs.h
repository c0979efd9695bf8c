// The stable output contract of a run directory (docs/outputs.md): history.csv, the
// predictions CSVs and results.json. All written atomically so that a crash never leaves a file
// that looks complete.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ecg::eval {

struct HistoryRow {
  int epoch = 0;  // 1-based within its stage
  int stage = 0;  // 1 linear probing, 2 fine-tuning
  double train_loss = 0;
  double val_macro_auroc = 0;
  double val_macro_auprc = 0;
  double lr = 0;  // at the end of the epoch
  double seconds = 0;
};

void to_json(nlohmann::json& j, const HistoryRow& r);
void from_json(const nlohmann::json& j, HistoryRow& r);

void write_history_csv(const std::string& path, const std::vector<HistoryRow>& rows);

// ecg_id then one probability column per class (named by class).
void write_predictions_csv(const std::string& path, const std::vector<int64_t>& ecg_ids,
                           const std::vector<std::string>& classes, const std::vector<float>& probs);

void write_json_file(const std::string& path, const nlohmann::json& value);

}  // namespace ecg::eval
