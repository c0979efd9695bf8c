#include "eval/run_outputs.h"

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/fnv1a.h"

namespace ecg::eval {

void to_json(nlohmann::json& j, const HistoryRow& r) {
  j = {{"epoch", r.epoch},     {"stage", r.stage},
       {"train_loss", r.train_loss}, {"val_macro_auroc", r.val_macro_auroc},
       {"val_macro_auprc", r.val_macro_auprc}, {"lr", r.lr},
       {"seconds", r.seconds}};
}

void from_json(const nlohmann::json& j, HistoryRow& r) {
  j.at("epoch").get_to(r.epoch);
  j.at("stage").get_to(r.stage);
  j.at("train_loss").get_to(r.train_loss);
  j.at("val_macro_auroc").get_to(r.val_macro_auroc);
  j.at("val_macro_auprc").get_to(r.val_macro_auprc);
  j.at("lr").get_to(r.lr);
  j.at("seconds").get_to(r.seconds);
}

void write_history_csv(const std::string& path, const std::vector<HistoryRow>& rows) {
  std::string text = "epoch,stage,train_loss,val_macro_auroc,val_macro_auprc,lr,seconds\n";
  for (const auto& r : rows) {
    text += fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6g},{:.3f}\n", r.epoch, r.stage, r.train_loss,
                        r.val_macro_auroc, r.val_macro_auprc, r.lr, r.seconds);
  }
  write_file_atomically(path, text, "history CSV");
}

void write_predictions_csv(const std::string& path, const std::vector<int64_t>& ecg_ids,
                           const std::vector<std::string>& classes, const std::vector<float>& probs) {
  const size_t c = classes.size();
  ECG_CHECK(probs.size() == ecg_ids.size() * c, "predictions: {} values for {} records x {} classes",
            probs.size(), ecg_ids.size(), c);
  std::string text = "ecg_id";
  for (const auto& name : classes) text += "," + name;
  text += "\n";
  for (size_t i = 0; i < ecg_ids.size(); ++i) {
    text += std::to_string(ecg_ids[i]);
    for (size_t k = 0; k < c; ++k) text += fmt::format(",{:.6f}", probs[i * c + k]);
    text += "\n";
  }
  write_file_atomically(path, text, "predictions CSV");
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  write_file_atomically(path, value.dump(2) + "\n", "JSON");
}

std::string test_labels_fnv1a64(const std::vector<int64_t>& ecg_ids, const std::vector<std::string>& classes,
                                const std::vector<float>& targets) {
  const size_t c = classes.size();
  ECG_CHECK(targets.size() == ecg_ids.size() * c, "test labels: {} values for {} records x {} classes",
            targets.size(), ecg_ids.size(), c);
  Fnv1a64 h;
  h.u64(ecg_ids.size());
  h.u64(c);
  for (const auto& name : classes) {
    h.bytes(name);
    h.byte(0);
  }
  for (size_t i = 0; i < ecg_ids.size(); ++i) {
    h.u64(static_cast<uint64_t>(ecg_ids[i]));
    for (size_t k = 0; k < c; ++k) h.byte(targets[i * c + k] > 0.5f ? 1 : 0);
  }
  return fmt::format("{:016x}", h.value());
}

nlohmann::json test_data_json(const std::string& path, const std::vector<int64_t>& ecg_ids,
                              const std::vector<std::string>& classes, const std::vector<float>& targets) {
  return {{"path", path},
          {"records", ecg_ids.size()},
          {"labels_fnv1a64", test_labels_fnv1a64(ecg_ids, classes, targets)}};
}

}  // namespace ecg::eval
