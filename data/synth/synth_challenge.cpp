#include "data/synth/synth_challenge.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "common/error.h"
#include "data/formats/challenge_record.h"
#include "data/formats/leads.h"
#include "data/synth/record_files.h"

namespace ecg::data::synth {
namespace {

namespace fs = std::filesystem;

struct Tranche {
  const char* folder;
  const char* prefix;
  int digits;
  int rate;
  double min_s, max_s;
};

// Record i (0-based) goes to tranche i % 3, as the i / 3 + 1'th record there.
constexpr Tranche kTranches[] = {{"cpsc_2018", "A", 4, 500, 10.0, 20.0},
                                 {"ningbo", "JS", 5, 500, 10.0, 10.0},
                                 {"incart", "I", 4, 257, 12.0, 12.0}};

}  // namespace

const std::map<std::string, std::string>& scp_to_snomed() {
  static const std::map<std::string, std::string> map = {
      {"SR", "426783006"},    {"AFIB", "164889003"},  {"AFLT", "164890007"},
      {"STACH", "427084000"}, {"SBRAD", "426177001"}, {"SARRH", "427393009"},
      {"CRBBB", "713427006"}, {"CLBBB", "733534002"}, {"IRBBB", "713426002"},
      {"LAFB", "445118002"},  {"1AVB", "270492004"},  {"LVH", "164873001"},
      {"IMI", "164865005"},   {"PVC", "427172004"},   {"LNGQT", "111975006"},
      {"PAC", "284470004"},   {"NDT", "164934002"},   {"QWAVE", "164917005"},
      {"LPR", "164947007"},   {"LVOLT", "251146004"}, {"IVCD", "698252002"},
      {"PACE", "10370003"}};
  return map;
}

SynthSummary write_synthetic_challenge(const SynthOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  ECG_CHECK(options.records > 0, "--records must be > 0, got {}", options.records);
  ECG_CHECK(options.threads >= 1, "--threads must be >= 1, got {}", options.threads);
  const fs::path out(options.out_dir);
  std::error_code ec;
  for (const auto& t : kTranches) {
    fs::create_directories(out / t.folder, ec);
    ECG_CHECK(!ec, "--out {}: cannot create {}: {}", options.out_dir, (out / t.folder).string(),
              ec.message());
  }
  const std::vector<DatabaseRow> rows = plan_database(options);
  const auto& columns = database_columns();
  const auto col = [&](const char* name) {
    return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
  };
  const size_t c_age = col("age"), c_sex = col("sex");
  const std::vector<std::string> leads(kLeadOrder.begin(), kLeadOrder.end());

  for_each_record_in_parallel(options.records, options.threads, [&](int i) {
    const DatabaseRow& row = rows[static_cast<size_t>(i)];
    const Tranche& t = kTranches[i % 3];
    const int number = i / 3 + 1;
    // Duration from the record's id, so it does not depend on thread scheduling.
    const double span = t.max_s - t.min_s;
    const double duration = t.min_s + (span > 0 ? (row.ecg_id * 7919 % 101) / 100.0 * span : 0);
    const RecordPlan plan = plan_record(row.labels, options.seed, row.ecg_id, duration);
    const auto mv = render_record(plan, t.rate, options.seed, row.ecg_id);
    ChallengeMeta meta;
    const std::string& age = row.fields[c_age];
    if (!age.empty()) meta.age = std::stod(age);
    meta.sex = row.fields[c_sex] == "0" ? "Male" : row.fields[c_sex] == "1" ? "Female" : "";
    for (const auto& [code, likelihood] : row.labels.codes) {
      const auto it = scp_to_snomed().find(code);
      if (it != scp_to_snomed().end() &&
          std::find(meta.dx.begin(), meta.dx.end(), it->second) == meta.dx.end())
        meta.dx.push_back(it->second);
    }
    if (meta.dx.empty()) meta.dx.push_back(scp_to_snomed().at("SR"));
    const std::string name = fmt::format("{}{:0{}d}", t.prefix, number, t.digits);
    const WfdbFiles files =
        encode_challenge_record(name, t.rate, leads, to_adc(mv), meta);
    const fs::path base = out / t.folder / name;
    // The signal file first: a header on disk always describes a complete .mat.
    write_renamed(base.string() + ".mat", files.dat);
    write_renamed(base.string() + ".hea", files.header);
  });
  // The headers name their .mat files, so each tranche is complete when its last header is; the
  // folders have no completion marker of their own (the Challenge ships none), hence one sync.
  sync_filesystem_of(options.out_dir);

  SynthSummary summary;
  summary.records = options.records;
  summary.patients = options.records;  // the Challenge headers name no patients
  summary.files = options.records * 2;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace ecg::data::synth
