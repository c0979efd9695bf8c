// The PTB-XL source of `preprocess`: ptbxl_database.csv lists the records, their patients,
// strat_fold and SCP codes; scp_statements.csv maps codes to the benchmark's six tasks. Records are
// read at --sampling-rate (100: filename_lr, 500: filename_hr).
#include <filesystem>
#include <map>

#include "common/error.h"
#include "data/formats/labels.h"
#include "data/formats/ptbxl_database.h"
#include "data/formats/scp_statements.h"
#include "data/record_source.h"

namespace ecg::data {
namespace {

class PtbxlSource : public RecordSource {
 public:
  PtbxlSource(const PreprocessOptions& o, const std::string& dir, const SkipRecord& skip)
      : rate_(o.sampling_rate) {
    ECG_CHECK(rate_ == 100 || rate_ == 500, "--sampling-rate must be 100 or 500, got {}", rate_);
    origin_ = std::string("ptbxl:") + dir;
    const std::filesystem::path root(dir);
    const std::string db_path = (root / "ptbxl_database.csv").string();
    const auto database = read_ptbxl_database(db_path);
    table_ = std::make_unique<ScpTable>(read_scp_statements((root / "scp_statements.csv").string()));
    // Metadata checks first (cheap, and they decide which records are decoded at all).
    for (const auto& rec : database) {
      const auto unknown = unknown_codes(rec.scp_codes, *table_);
      const std::string& file = rate_ == 100 ? rec.filename_lr : rec.filename_hr;
      if (!unknown.empty()) {
        skip(fmt::format("{} (ecg_id {}): unknown SCP code '{}' (not in scp_statements.csv)",
                         db_path, rec.ecg_id, unknown.front()));
      } else if (file.empty()) {
        skip(fmt::format("{} (ecg_id {}): empty {}", db_path, rec.ecg_id,
                         rate_ == 100 ? "filename_lr" : "filename_hr"));
      } else {
        records_.push_back({rec.ecg_id, rec.patient_id, rec.fold, ""});
        paths_.push_back((root / file).string());
        codes_.push_back(rec.scp_codes);
      }
    }
  }

  RawRecord load(size_t i) const override { return read_standard_wfdb(paths_[i], rate_); }
  std::string rates() const override { return fmt::format("{} Hz", rate_); }
  int source_rate() const override { return rate_; }
  std::string crop_rule(double duration_s) const override {
    return fmt::format("first {} s of each record", duration_s);
  }

  std::vector<TaskLabels> labels(const std::vector<size_t>& kept) const override {
    std::vector<const std::map<std::string, double>*> codes;
    for (size_t k : kept) codes.push_back(&codes_[k]);
    std::vector<TaskLabels> out;
    for (const auto& task : layout::kTasks) out.push_back(derive_task_labels(codes, *table_, task));
    return out;
  }

 private:
  int rate_;
  std::unique_ptr<ScpTable> table_;
  std::vector<std::string> paths_;
  std::vector<std::map<std::string, double>> codes_;
};

}  // namespace

std::unique_ptr<RecordSource> list_ptbxl(const PreprocessOptions& o, const std::string& dir,
                                         const SkipRecord& skip) {
  return std::make_unique<PtbxlSource>(o, dir, skip);
}

}  // namespace ecg::data
