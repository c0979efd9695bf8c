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

// The identity of the labels a run was tested on, so that `compare` can tell that its --data file
// holds them (same ids and classes are not enough: a relabelled file would score the run against
// labels it never saw). FNV-1a 64-bit over, in order: the record count and the class count (each a
// little-endian uint64), every class name followed by a 0 byte, then per record (in the order
// given: test_predictions.csv's) its ecg_id (little-endian int64) and one byte per class (1 for a
// positive target, else 0). Written as 16 lowercase hex digits. `targets` is row-major
// [records x classes], 0/1. Not a defence against forgery, a check against mix-ups.
std::string test_labels_fnv1a64(const std::vector<int64_t>& ecg_ids, const std::vector<std::string>& classes,
                                const std::vector<float>& targets);

// results.json's "test_data" block: {"path": the data file, "records", "labels_fnv1a64"}.
nlohmann::json test_data_json(const std::string& path, const std::vector<int64_t>& ecg_ids,
                              const std::vector<std::string>& classes, const std::vector<float>& targets);

}  // namespace ecg::eval
