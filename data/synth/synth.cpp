// Synthetic PTB-XL directory writer: patients and folds (sequential, from the seed), then the
// records in parallel (each from its own (seed, ecg_id) streams), then the tables.
#include "data/synth/synth.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "data/formats/leads.h"
#include "data/formats/scp_statements.h"
#include "data/formats/wfdb_writer.h"

namespace ecg::data::synth {
namespace {

namespace fs = std::filesystem;

// Minimal quoting as pandas writes PTB-XL (only fields with a comma, quote or newline). libcsv's
// csv_write quotes every field, which would make our file differ from the real one for no gain.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Records are written under a temp name and renamed, but without a per-file fsync (two fsyncs per
// record made 10,000 records take minutes on a disk). One syncfs() before ptbxl_database.csv -
// itself written atomically with fsync - makes them durable: the database is the completion
// marker, and a directory without it is not a PTB-XL release.
void write_renamed(const std::string& path, const std::string& bytes) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  ECG_CHECK(f != nullptr, "cannot create {}: {}", tmp, std::strerror(errno));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  if (written != bytes.size() || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = written != bytes.size() ? saved : errno;
    std::remove(tmp.c_str());
    ECG_FAIL("{}", write_error_message(path, err, "WFDB record"));
  }
}

void sync_filesystem_of(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ECG_CHECK(fd >= 0, "cannot open {}: {}", dir, std::strerror(errno));
  const int rc = ::syncfs(fd);
  const int saved = errno;
  ::close(fd);
  ECG_CHECK(rc == 0, "cannot sync {}: {}", dir, std::strerror(saved));
}

std::string float1(double v) {
  return fmt::format("{:.1f}", v);
}

struct Patient {
  int id = 0;
  int n_records = 0;
  int fold = 0;
};

const char* kDevices[] = {"CS-12   E",  "AT-6 C 5.0", "AT-60    3", "CS100    3",
                          "AT-6     6", "AT-6 C",     "CS-12"};

// A short German report in PTB-XL's style, built from the labels.
std::string report_text(const RecordLabels& labels) {
  static const std::pair<const char*, const char*> phrases[] = {
      {"SR", "sinusrhythmus"},
      {"AFIB", "vorhofflimmern"},
      {"AFLT", "vorhofflattern"},
      {"STACH", "sinustachykardie"},
      {"SBRAD", "sinusbradykardie"},
      {"SARRH", "sinusarrhythmie"},
      {"PACE", "schrittmacher-ekg"},
      {"NORM", "normales ekg"},
      {"LVOLT", "periphere niederspannung"},
      {"LAFB", "linksanteriorer hemiblock"},
      {"CLBBB", "kompletter linksschenkelblock"},
      {"CRBBB", "kompletter rechtsschenkelblock"},
      {"IRBBB", "inkompletter rechtsschenkelblock"},
      {"1AVB", "av-block i"},
      {"LVH", "linksherzhypertrophie"},
      {"IMI", "inferiorer infarkt"},
      {"ASMI", "anteroseptaler infarkt"},
      {"PVC", "ventrikulaere extrasystole(n)"},
      {"PAC", "supraventrikulaere extrasystole(n)"},
      {"ISC_", "ischaemische st-t-veraenderungen"},
      {"NDT", "unspezifische t-veraenderungen"},
  };
  std::string out;
  for (const auto& [code, text] : phrases) {
    if (!labels.has(code)) continue;
    if (!out.empty()) out += ' ';
    out += text;
  }
  return out.empty() ? "ekg mit auffaelligkeiten" : out;
}

bool has_mi(const RecordLabels& labels) {
  for (const char* c : {"IMI", "ASMI", "ILMI", "AMI", "ALMI", "LMI", "IPLMI", "IPMI", "PMI"})
    if (labels.has(c)) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& database_columns() {
  static const std::vector<std::string> columns = {"ecg_id",
                                                   "patient_id",
                                                   "age",
                                                   "sex",
                                                   "height",
                                                   "weight",
                                                   "nurse",
                                                   "site",
                                                   "device",
                                                   "recording_date",
                                                   "report",
                                                   "scp_codes",
                                                   "heart_axis",
                                                   "infarction_stadium1",
                                                   "infarction_stadium2",
                                                   "validated_by",
                                                   "second_opinion",
                                                   "initial_autogenerated_report",
                                                   "validated_by_human",
                                                   "baseline_drift",
                                                   "static_noise",
                                                   "burst_noise",
                                                   "electrodes_problems",
                                                   "extra_beats",
                                                   "pacemaker",
                                                   "strat_fold",
                                                   "filename_lr",
                                                   "filename_hr"};
  return columns;
}

std::string record_filename(int ecg_id, int rate) {
  const int folder = ecg_id / 1000 * 1000;
  return rate == 100 ? fmt::format("records100/{:05d}/{:05d}_lr", folder, ecg_id)
                     : fmt::format("records500/{:05d}/{:05d}_hr", folder, ecg_id);
}

std::vector<std::vector<int16_t>> to_adc(const std::vector<std::vector<float>>& leads_mv) {
  std::vector<std::vector<int16_t>> adc(leads_mv.size());
  for (size_t s = 0; s < leads_mv.size(); ++s) {
    adc[s].resize(leads_mv[s].size());
    for (size_t t = 0; t < leads_mv[s].size(); ++t) {
      const double v = std::nearbyint(static_cast<double>(leads_mv[s][t]) * 1000.0);
      adc[s][t] = static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
    }
  }
  return adc;
}

std::vector<DatabaseRow> plan_database(const SynthOptions& options) {
  const int n = options.records;
  ECG_CHECK(n > 0, "--records must be > 0, got {}", n);

  // Patients: most own one record, some several (PTB-XL: 21,799 records of 18,869 patients).
  Rng prng(options.seed, 0, kPatientStream);
  std::vector<Patient> patients;
  int slots = 0;
  while (slots < n) {
    const double u = prng.uniform();
    int k = u < 0.85 ? 1 : u < 0.95 ? 2 : u < 0.985 ? 3 : 4;
    k = std::min(k, n - slots);
    patients.push_back({static_cast<int>(patients.size()) + 1, k, 0});
    slots += k;
  }
  // Folds: whole patients, balanced by record count (largest patients first, smallest fold).
  std::vector<int> order(patients.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return patients[a].n_records > patients[b].n_records; });
  std::array<int, 10> fold_size{};
  for (int p : order) {
    const int f =
        static_cast<int>(std::min_element(fold_size.begin(), fold_size.end()) - fold_size.begin());
    patients[p].fold = f + 1;
    fold_size[f] += patients[p].n_records;
  }
  // Records of one patient are scattered over ecg_ids, as in PTB-XL.
  std::vector<int> slot_patient;
  for (const auto& p : patients)
    for (int k = 0; k < p.n_records; ++k) slot_patient.push_back(p.id - 1);
  for (int i = n - 1; i > 0; --i) std::swap(slot_patient[i], slot_patient[prng.below(i + 1)]);

  std::vector<DatabaseRow> rows(n);
  for (int i = 0; i < n; ++i) {
    DatabaseRow& row = rows[i];
    const Patient& patient = patients[slot_patient[i]];
    row.ecg_id = i + 1;
    row.patient_id = patient.id;
    row.strat_fold = patient.fold;
    Rng lrng(options.seed, static_cast<uint64_t>(row.ecg_id), kLabelStream);
    row.labels = sample_labels(lrng, options.cover_all_codes ? cover_code_index(i) : -1);

    // Patient attributes are the patient's, whichever record we are on.
    Rng pr(options.seed, static_cast<uint64_t>(patient.id), kPatientStream);
    const int sex = pr.chance(0.48) ? 1 : 0;  // PTB-XL: 0 male, 1 female
    const double age = std::round(std::clamp(pr.normal(61, 17), 18.0, 89.0));
    const double height = std::round(pr.normal(sex ? 164 : 177, 7));
    const double weight = std::round(std::clamp(pr.normal(sex ? 68 : 81, 13), 40.0, 160.0));
    const bool has_height = pr.chance(0.32), has_weight = pr.chance(0.43);

    Rng mr(options.seed, static_cast<uint64_t>(row.ecg_id), kMetadataStream);
    const int year = 1984 + mr.below(18);
    const std::string date =
        fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", year, 1 + mr.below(12),
                    1 + mr.below(28), 7 + mr.below(12), mr.below(60), mr.below(60));
    const bool validated = row.strat_fold >= 9 || mr.chance(0.7);  // folds 9/10: human-checked
    static const char* stadia[] = {"Stadium I", "Stadium II",   "Stadium III",
                                   "unknown",   "Stadium I-II", "Stadium II-III"};
    const std::string stadium1 = has_mi(row.labels) && mr.chance(0.6) ? stadia[mr.below(6)] : "";
    const std::string stadium2 = !stadium1.empty() && mr.chance(0.1) ? "Stadium II" : "";

    // Signal-derived metadata (noise, axis, extra beats) comes from the record's plan.
    const RecordPlan plan = plan_record(row.labels, options.seed, row.ecg_id);
    row.fields = {std::to_string(row.ecg_id),
                  float1(row.patient_id),
                  float1(age),
                  std::to_string(sex),
                  has_height ? float1(height) : "",
                  has_weight ? float1(weight) : "",
                  mr.chance(0.7) ? float1(mr.below(12)) : "",
                  float1(mr.below(51)),
                  kDevices[mr.below(7)],
                  date,
                  report_text(row.labels),
                  scp_codes_dict(row.labels),
                  plan.heart_axis,
                  stadium1,
                  stadium2,
                  validated && mr.chance(0.6) ? float1(mr.below(13)) : "",
                  mr.chance(0.02) ? "True" : "False",
                  mr.chance(0.25) ? "True" : "False",
                  validated ? "True" : "False",
                  plan.baseline_drift,
                  plan.static_noise,
                  plan.burst_noise,
                  "",
                  plan.extra_beats,
                  plan.pacemaker,
                  std::to_string(row.strat_fold),
                  record_filename(row.ecg_id, 100),
                  record_filename(row.ecg_id, 500)};
  }
  return rows;
}

SynthSummary write_synthetic_ptbxl(const SynthOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ECG_CHECK(options.records > 0, "--records must be > 0, got {}", options.records);
  ECG_CHECK(options.write_100hz || options.write_500hz, "--sampling-rate selects no rate");
  ECG_CHECK(options.threads >= 1, "--threads must be >= 1, got {}", options.threads);
  const fs::path out(options.out_dir);
  std::error_code ec;
  fs::create_directories(out, ec);
  ECG_CHECK(!ec && fs::is_directory(out), "--out {}: cannot create directory: {}", options.out_dir,
            ec ? ec.message() : "exists and is not a directory");

  // A database left by an earlier run would make the directory look complete while we rewrite it.
  fs::remove(out / "ptbxl_database.csv", ec);
  ECG_CHECK(!ec, "--out {}: cannot remove the old ptbxl_database.csv: {}", options.out_dir,
            ec.message());
  const std::vector<DatabaseRow> rows = plan_database(options);
  std::vector<int> rates;
  if (options.write_100hz) rates.push_back(100);
  if (options.write_500hz) rates.push_back(500);
  for (int rate : rates) {
    for (int folder = 0; folder <= options.records / 1000; ++folder) {
      const fs::path dir =
          out / fmt::format("records{}", rate) / fmt::format("{:05d}", folder * 1000);
      fs::create_directories(dir, ec);
      ECG_CHECK(!ec, "--out {}: cannot create {}: {}", options.out_dir, dir.string(), ec.message());
    }
  }

  // Records in parallel; the first error stops the others and is rethrown here.
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    while (!failed.load()) {
      const int i = next.fetch_add(1);
      if (i >= static_cast<int>(rows.size())) return;
      try {
        const DatabaseRow& row = rows[i];
        const RecordPlan plan = plan_record(row.labels, options.seed, row.ecg_id);
        for (int rate : rates) {
          const auto leads = render_record(plan, rate, options.seed, row.ecg_id);
          const std::string path = (out / record_filename(row.ecg_id, rate)).string();
          const WfdbFiles files = encode_wfdb_record(fs::path(path).filename().string(), rate,
                                                     ptbxl_header_lead_names(), to_adc(leads));
          write_renamed(path + ".dat", files.dat);
          write_renamed(path + ".hea", files.header);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const int n_threads = std::min(options.threads, options.records);
  std::vector<std::thread> pool;
  for (int t = 1; t < n_threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  sync_filesystem_of(options.out_dir);
  write_file_atomically((out / "scp_statements.csv").string(), embedded_scp_statements_csv());
  write_file_atomically((out / "NOTICE").string(), embedded_scp_statements_notice());
  std::string csv;
  for (size_t c = 0; c < database_columns().size(); ++c)
    csv += (c ? "," : "") + database_columns()[c];
  csv += '\n';
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.fields.size(); ++c) csv += (c ? "," : "") + csv_field(row.fields[c]);
    csv += '\n';
  }
  write_file_atomically((out / "ptbxl_database.csv").string(), csv);

  SynthSummary summary;
  summary.records = options.records;
  summary.patients = 0;
  for (const auto& row : rows) summary.patients = std::max(summary.patients, row.patient_id);
  summary.files = options.records * static_cast<int>(rates.size()) * 2 + 3;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace ecg::data::synth
