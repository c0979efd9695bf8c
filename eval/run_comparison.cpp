#include "eval/run_comparison.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "data/formats/csv_table.h"
#include "data/dataset_info.h"
#include "eval/run_files.h"
#include "eval/run_outputs.h"

namespace fs = std::filesystem;

namespace ecg::eval {
namespace {

double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : NAN; }

std::string fmt_metric(const nlohmann::json& value, const nlohmann::json& ci) {
  const double v = number_or_nan(value);
  if (!std::isfinite(v)) return "n/a";
  if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) {
    return fmt::format("{:.3f} [{:.3f}, {:.3f}]", v, ci[0].get<double>(), ci[1].get<double>());
  }
  return fmt::format("{:.3f} [CI n/a]", v);
}

std::string fmt_difference(const nlohmann::json& d) {
  const double e = number_or_nan(d.at("estimate"));
  const auto& ci = d.at("ci");
  if (!std::isfinite(e)) return "n/a";
  // No bootstrap (--bootstrap 0): the estimate alone, without an interval or a p-value.
  if (!ci.is_array() || ci.size() != 2) return fmt::format("{:+.3f} [CI n/a]", e);
  return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}] p={:.3f}", e, number_or_nan(ci[0]), number_or_nan(ci[1]),
                     number_or_nan(d.at("p_value")));
}

// The run's input profile (trainer/engine/input_profile.h; train writes it into the settings); a run written
// before --profile existed was trained with the default pipeline.
std::string profile_of(const RunOutcome& run) {
  const nlohmann::json& results = run.results;
  if (!results.contains("settings") || !results.at("settings").is_object()) return "default";
  const nlohmann::json& settings = results.at("settings");
  if (!settings.contains("profile")) return "default";
  ECG_CHECK(settings.at("profile").is_string(), "{}: 'settings.profile' must be a string",
            (fs::path(run.dir) / "results.json").string());
  return settings.at("profile").get<std::string>();
}

std::string per_label_markdown(const std::string& base, const nlohmann::json& run) {
  std::string out = fmt::format(
      "\nPer label, `{}` vs `{}` (paired bootstrap, same resamples as above):\n\n"
      "| label | d AUROC [95% CI] | d AUPRC [95% CI] |\n|---|---|---|\n",
      run.at("label").get<std::string>(), base);
  for (const auto& d : run.at("vs_baseline").at("per_label")) {
    out += fmt::format("| {} | {} | {} |\n", d.at("label").get<std::string>(), fmt_difference(d.at("auroc")),
                       fmt_difference(d.at("auprc")));
  }
  return out;
}

}  // namespace

RunOutcome read_run(const std::string& dir) {
  const std::string results_text = read_run_file(dir, RunFile::results_json);
  return parse_run(dir, results_text, read_run_file(dir, RunFile::test_predictions_csv));
}

RunOutcome parse_run(const std::string& dir, const std::string& results_json,
                     const std::string& predictions_csv) {
  RunOutcome run;
  run.dir = dir;
  run.label = fs::path(dir).lexically_normal().filename().string();
  if (run.label.empty()) run.label = fs::path(dir).lexically_normal().parent_path().filename().string();
  const std::string results_path = (fs::path(dir) / "results.json").string();
  run.results = parse_run_json(dir, RunFile::results_json, results_json);
  ECG_CHECK(run.results.contains("test") && run.results.contains("task"),
            "{}: no 'test' / 'task' field (a `train` run's results.json is needed)", results_path);
  ECG_CHECK(run.results.at("test").is_object() && run.results.at("task").is_string(),
            "{}: 'test' must be an object and 'task' a string", results_path);

  const std::string preds_path = (fs::path(dir) / "test_predictions.csv").string();
  const data::CsvRows rows = data::parse_csv(predictions_csv, preds_path);
  ECG_CHECK(rows.size() >= 2 && rows[0].size() >= 2 && rows[0][0] == "ecg_id",
            "{}: expected a header 'ecg_id,<class>,...' and at least one row", preds_path);
  run.classes.assign(rows[0].begin() + 1, rows[0].end());
  std::set<int64_t> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    ECG_CHECK(rows[r].size() == rows[0].size(), "{}: row {} has {} fields, the header {}", preds_path, r + 1,
              rows[r].size(), rows[0].size());
    int64_t id = 0;
    try {
      size_t used = 0;
      id = std::stoll(rows[r][0], &used);
      if (used != rows[r][0].size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      ECG_FAIL("{}: row {}: ecg_id '{}' is not an integer", preds_path, r + 1, data::cell_excerpt(rows[r][0]));
    }
    ECG_CHECK(seen.insert(id).second, "{}: ecg_id {} appears twice (row {})", preds_path, id, r + 1);
    run.ecg_ids.push_back(id);
    for (size_t c = 1; c < rows[r].size(); ++c) {
      float p = NAN;
      try {
        p = std::stof(rows[r][c]);
      } catch (const std::exception&) {
        ECG_FAIL("{}: ecg_id {}, column '{}': '{}' is not a number", preds_path, id,
                 data::cell_excerpt(run.classes[c - 1]), data::cell_excerpt(rows[r][c]));
      }
      // A NaN or infinite score would make every AUROC of the label meaningless; say which record.
      ECG_CHECK(std::isfinite(p), "{}: ecg_id {}, column '{}': score is {}", preds_path, id,
                data::cell_excerpt(run.classes[c - 1]), rows[r][c] == "" ? "empty" : data::cell_excerpt(rows[r][c]));
      run.probs.push_back(p);
    }
  }
  return run;
}

nlohmann::json run_summary(const RunOutcome& r) {
  const auto& settings = r.results.value("settings", nlohmann::json::object());
  // A metric missing from the test block is null (shown as n/a). Not results["test"][name]: on a
  // const json, operator[] with a missing key is undefined behaviour (an assertion with asserts on).
  const nlohmann::json& test = r.results.at("test");
  auto metric = [&test](const char* name) {
    return test.is_object() ? test.value(name, nlohmann::json()) : nlohmann::json();
  };
  return {{"label", r.label},
          {"dir", r.dir},
          {"recipe", r.results.value("recipe", "")},
          {"init", settings.value("init", "")},
          // Passed through as written: a summary shows these, it does not compute with them, and a
          // conversion (get<int> of 1e300) is where a hostile results.json could reach undefined
          // behaviour (found by run_dir_fuzz).
          {"train_fraction", settings.value("train_fraction", nlohmann::json(1.0))},
          {"drop_path", settings.value("drop_path", nlohmann::json(0.0))},
          {"lp_epochs", settings.value("lp_epochs", nlohmann::json(0))},
          {"seed", settings.value("seed", nlohmann::json(0))},
          {"macro_auroc", metric("macro_auroc")},
          {"macro_auroc_ci", metric("macro_auroc_ci")},
          {"macro_auprc", metric("macro_auprc")},
          {"macro_auprc_ci", metric("macro_auprc_ci")}};
}

void check_comparable(const std::vector<RunOutcome>& runs) {
  ECG_CHECK(!runs.empty(), "compare: no run given");
  const RunOutcome& base = runs.front();
  const std::string task = base.results.at("task").get<std::string>();
  const std::string profile = profile_of(base);
  for (const auto& run : runs) {
    ECG_CHECK(run.results.at("task") == task, "compare: {} is task '{}', {} is task '{}'", run.dir,
              run.results.at("task").get<std::string>(), base.dir, task);
    // Another input pipeline (filter, normalisation, crop) is another experiment: its numbers
    // are not a paired comparison of training recipes.
    ECG_CHECK(profile_of(run) == profile, "compare: {} has profile '{}', {} has profile '{}' (results.json field "
              "settings.profile); runs with different input profiles are not comparable",
              run.dir, profile_of(run), base.dir, profile);
    ECG_CHECK(run.classes == base.classes, "compare: {} and {} predict different classes", run.dir, base.dir);
    ECG_CHECK(run.ecg_ids == base.ecg_ids, "compare: {} and {} scored different test records", run.dir, base.dir);
  }
}

namespace {

// compare_runs' table from the targets, for runs that check_comparable has already accepted.
nlohmann::json compare_comparable(const std::vector<RunOutcome>& runs, const std::vector<float>& targets,
                                  const ComparisonOptions& options) {
  const RunOutcome& base = runs.front();
  const size_t c = base.classes.size();
  auto scores_of = [&](const RunOutcome& run) {
    LabelScores s;
    s.records = run.ecg_ids.size();
    s.labels = c;
    s.scores = run.probs;
    s.targets = targets;
    s.names = run.classes;
    return s;
  };

  nlohmann::json out;
  out["task"] = base.results.at("task");
  out["records"] = base.ecg_ids.size();
  out["data"] = options.data;
  out["runs"] = nlohmann::json::array();
  const LabelScores base_scores = scores_of(base);
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    nlohmann::json row = run_summary(r);
    // One paired bootstrap per run: the macro and the per-label differences share its resamples.
    if (i > 0) row["vs_baseline"] = to_json(paired_bootstrap(scores_of(r), base_scores, options.bootstrap));
    out["runs"].push_back(row);
  }
  return out;
}

}  // namespace

nlohmann::json compare_runs_on_targets(const std::vector<RunOutcome>& runs, const std::vector<float>& targets,
                                       const ComparisonOptions& options) {
  check_comparable(runs);
  return compare_comparable(runs, targets, options);
}

namespace {

// Same record ids and classes do not make the same test labels: a relabelled (or re-derived) file
// would score every run against labels it was never tested on. Each run's results.json records
// the hash of the labels it was tested on (trainer/finetune/results_json.cpp); `targets` are --data's.
void check_tested_on(const std::vector<RunOutcome>& runs, const std::vector<float>& targets, const std::string& data) {
  const std::string ours = test_labels_fnv1a64(runs.front().ecg_ids, runs.front().classes, targets);
  for (const auto& run : runs) {
    const std::string results_path = (fs::path(run.dir) / "results.json").string();
    const nlohmann::json& tested = run.results.contains("test_data") ? run.results.at("test_data") : nlohmann::json();
    if (tested.is_null()) {
      log::warn("compare: {} has no test_data (written before the field existed): cannot check that {} holds the "
                "labels it was tested on", results_path, data);
      continue;
    }
    ECG_CHECK(tested.is_object() && tested.contains("labels_fnv1a64") && tested.at("labels_fnv1a64").is_string(),
              "{}: 'test_data.labels_fnv1a64' must be a string", results_path);
    const std::string theirs = tested.at("labels_fnv1a64").get<std::string>();
    ECG_CHECK(theirs == ours,
              "compare: {} was tested on other labels than --data {} holds for its test records (results.json "
              "test_data.labels_fnv1a64 {}, {} from the file; it was tested on {}); compare on the file it was "
              "tested on", run.dir, data, theirs, ours,
              tested.contains("path") ? tested.at("path").dump() : std::string("an unrecorded path"));
  }
}

}  // namespace

std::vector<float> read_test_targets(const std::vector<RunOutcome>& runs, const std::string& data) {
  check_comparable(runs);  // before reading the data file: a refusal needs no data
  const RunOutcome& base = runs.front();
  const std::string task = base.results.at("task").get<std::string>();

  // Targets of the test records from the data file, by ecg_id.
  const data::DatasetInfo file = data::read_dataset_info(data);
  const data::LabelMatrix labels = data::read_labels(data, task);
  ECG_CHECK(labels.classes == base.classes, "compare: {} has other classes for task '{}' than the runs", data, task);
  std::map<int64_t, int64_t> row_of;
  for (size_t i = 0; i < file.ecg_id.size(); ++i) row_of[file.ecg_id[i]] = static_cast<int64_t>(i);
  const size_t c = base.classes.size();
  std::vector<float> targets;
  targets.reserve(base.ecg_ids.size() * c);
  for (int64_t id : base.ecg_ids) {
    auto it = row_of.find(id);
    ECG_CHECK(it != row_of.end(), "compare: ecg_id {} of the runs is not in {}", id, data);
    for (size_t k = 0; k < c; ++k) targets.push_back(labels.values[static_cast<size_t>(it->second) * c + k] ? 1.f : 0.f);
  }
  check_tested_on(runs, targets, data);
  return targets;
}

nlohmann::json compare_runs(const std::vector<RunOutcome>& runs, const ComparisonOptions& options) {
  return compare_comparable(runs, read_test_targets(runs, options.data), options);
}

std::string comparison_markdown(const nlohmann::json& comparison) {
  const auto& runs = comparison.at("runs");
  const std::string base = runs.empty() ? "" : runs[0].at("label").get<std::string>();
  std::string out = fmt::format(
      "Task {}, {} test records. Differences: paired bootstrap vs `{}`.\n\n"
      "| run | recipe | macro AUROC [95% CI] | macro AUPRC [95% CI] | d AUROC vs {} | d AUPRC vs {} |\n"
      "|---|---|---|---|---|---|\n",
      comparison.at("task").get<std::string>(), comparison.at("records").get<size_t>(), base, base, base);
  for (const auto& r : runs) {
    std::string d_auroc = "(baseline)", d_auprc = "(baseline)";
    if (r.contains("vs_baseline")) {
      d_auroc = fmt_difference(r["vs_baseline"]["auroc_difference"]);
      d_auprc = fmt_difference(r["vs_baseline"]["auprc_difference"]);
    }
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", r.at("label").get<std::string>(),
                       r.at("recipe").get<std::string>(), fmt_metric(r["macro_auroc"], r["macro_auroc_ci"]),
                       fmt_metric(r["macro_auprc"], r["macro_auprc_ci"]), d_auroc, d_auprc);
  }
  for (const auto& r : runs) {
    if (r.contains("vs_baseline") && r.at("vs_baseline").contains("per_label")) out += per_label_markdown(base, r);
  }
  return out;
}

}  // namespace ecg::eval
