#include "data/synth/synth_wfdb_folder.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/formats/leads.h"
#include "data/formats/wfdb_writer.h"

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

  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    while (!failed.load()) {
      const int i = next.fetch_add(1);
      if (i >= static_cast<int>(rows.size())) return;
      try {
        const DatabaseRow& row = rows[static_cast<size_t>(i)];
        const RecordPlan plan = plan_record(row.labels, options.seed, row.ecg_id);
        const auto mv = render_record(plan, 500, options.seed, row.ecg_id);
        write_wfdb_record((out / record_name(i)).string(), 500, leads, to_adc(mv));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int k = 1; k < std::min(options.threads, options.records); ++k) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);

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
