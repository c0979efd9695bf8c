#include "data/synth/synth_wfdb_folder.h"

#include <chrono>
#include <filesystem>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/formats/leads.h"
#include "data/formats/wfdb_writer.h"
#include "data/synth/record_files.h"

namespace ecg::data::synth {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kLabelled = {"NORM", "AFIB", "CRBBB", "CLBBB", "IRBBB", "1AVB", "LVH", "IMI"};

std::string record_name(int index) {
  return fmt::format("ward{}/rec{:05d}", index % 3 + 1, index + 1);
}

}  // namespace

SynthSummary write_synthetic_wfdb_folder(const SynthOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ECG_CHECK(options.records > 0, "--records must be > 0, got {}", options.records);
  ECG_CHECK(options.threads >= 1, "--threads must be >= 1, got {}", options.threads);
  const fs::path out(options.out_dir);
  std::error_code ec;
  for (int w = 1; w <= 3; ++w) {
    fs::create_directories(out / fmt::format("ward{}", w), ec);
    ECG_CHECK(!ec, "--out {}: cannot create directory: {}", options.out_dir, ec.message());
  }
  fs::remove(out / "RECORDS", ec);
  fs::remove(out / "labels.csv", ec);
  const std::vector<DatabaseRow> rows = plan_database(options);
  const std::vector<std::string> leads(kLeadOrder.begin(), kLeadOrder.end());

  for_each_record_in_parallel(options.records, options.threads, [&](int i) {
    const DatabaseRow& row = rows[static_cast<size_t>(i)];
    const RecordPlan plan = plan_record(row.labels, options.seed, row.ecg_id);
    const auto mv = render_record(plan, 500, options.seed, row.ecg_id);
    const std::string path = (out / record_name(i)).string();
    const WfdbFiles files =
        encode_wfdb_record(fs::path(path).filename().string(), 500, leads, to_adc(mv));
    write_renamed(path + ".dat", files.dat);
    write_renamed(path + ".hea", files.header);
  });
  sync_filesystem_of(options.out_dir);  // before RECORDS and labels.csv mark the folder complete

  std::string index, csv = "record,labels,patient\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string name = record_name(static_cast<int>(i));
    index += name + "\n";
    std::string labels;
    for (const auto& code : kLabelled)
      if (rows[i].labels.has(code)) labels += (labels.empty() ? "" : ";") + code;
    csv += fmt::format("{},{},{}\n", name, labels.empty() ? "other" : labels, rows[i].patient_id);
  }
  write_file_atomically((out / "RECORDS").string(), index);
  write_file_atomically((out / "labels.csv").string(), csv);

  SynthSummary summary;
  summary.records = options.records;
  for (const auto& row : rows) summary.patients = std::max(summary.patients, row.patient_id);
  summary.files = options.records * 2 + 2;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace ecg::data::synth
