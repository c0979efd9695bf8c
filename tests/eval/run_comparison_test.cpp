// The run directory `ecgdist compare` reads (results.json + test_predictions.csv), parsed from
// memory: what it keeps, what it refuses, and a test block without every metric (found by
// tests/fuzz/run_dir_fuzz.cpp: undefined behaviour before, n/a now). Then the comparison itself on
// targets given in memory: per-label paired differences and the refusal of incomparable runs. Last,
// over a real file: the refusal of a file whose labels differ from those a run was tested on.
#include "eval/run_comparison.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.h"
#include "data/dataset_info.h"
#include "eval/run_outputs.h"
#include "tests/test_util.h"

namespace ecg::eval {
namespace {

const char* kResults = R"({"task": "superdiagnostic", "recipe": "fine-tune",
  "settings": {"init": "enc.ckpt", "seed": 3},
  "test": {"macro_auroc": 0.9, "macro_auroc_ci": [0.8, 0.95], "macro_auprc": 0.7, "macro_auprc_ci": [0.6, 0.8]}})";
const char* kPredictions = "ecg_id,CD,NORM\n7,0.25,0.75\n9,0.5,0.5\n";

TEST(RunComparison, ParsesResultsAndPredictions) {
  const RunOutcome run = parse_run("runs/a/", kResults, kPredictions);
  EXPECT_EQ(run.label, "a");
  EXPECT_EQ(run.classes, (std::vector<std::string>{"CD", "NORM"}));
  EXPECT_EQ(run.ecg_ids, (std::vector<int64_t>{7, 9}));
  EXPECT_EQ(run.probs, (std::vector<float>{0.25f, 0.75f, 0.5f, 0.5f}));
  const nlohmann::json row = run_summary(run);
  EXPECT_EQ(row["recipe"], "fine-tune");
  EXPECT_EQ(row["init"], "enc.ckpt");
  EXPECT_EQ(row["seed"], 3);
  EXPECT_EQ(row["macro_auprc"], 0.7);
  const std::string table = comparison_markdown(
      {{"task", "superdiagnostic"}, {"records", 2}, {"runs", nlohmann::json::array({row})}});
  EXPECT_NE(table.find("| a | fine-tune | 0.900 [0.800, 0.950] | 0.700 [0.600, 0.800] |"), std::string::npos)
      << table;
}

TEST(RunComparison, AMetricMissingFromTheTestBlockIsNotAvailable) {
  auto results = nlohmann::json::parse(kResults);
  results["test"].erase("macro_auprc_ci");
  results["test"].erase("macro_auroc");
  const nlohmann::json row = run_summary(parse_run("runs/a", results.dump(), kPredictions));
  EXPECT_TRUE(row["macro_auprc_ci"].is_null());
  EXPECT_TRUE(row["macro_auroc"].is_null());
  const std::string table = comparison_markdown(
      {{"task", "superdiagnostic"}, {"records", 2}, {"runs", nlohmann::json::array({row})}});
  EXPECT_NE(table.find("| a | fine-tune | n/a | 0.700"), std::string::npos) << table;
}

// Found by run_dir_fuzz in CI: settings.lp_epochs 1e300 was converted to int (undefined behaviour).
// A summary shows the settings as written, whatever their type.
TEST(RunComparison, SettingsOutOfAnyIntegerRangeArePassedThroughNotConverted) {
  auto results = nlohmann::json::parse(kResults);
  results["settings"]["lp_epochs"] = 1e300;
  results["settings"]["seed"] = -1e300;
  results["settings"]["drop_path"] = "0.1";
  const nlohmann::json row = run_summary(parse_run("runs/a", results.dump(), kPredictions));
  EXPECT_EQ(row["lp_epochs"], 1e300);
  EXPECT_EQ(row["seed"], -1e300);
  EXPECT_EQ(row["drop_path"], "0.1");
  EXPECT_EQ(run_summary(parse_run("runs/a", kResults, kPredictions))["lp_epochs"], 0);
}

TEST(RunComparison, RefusesWhatIsNotAFinishedTrainRunNamingTheFile) {
  auto refused = [](const std::string& results, const std::string& predictions) -> std::string {
    try {
      parse_run("runs/a", results, predictions);
    } catch (const ecg::Error& e) {
      return e.message();
    }
    return "(accepted)";
  };
  EXPECT_NE(refused("{", kPredictions).find("runs/a/results.json: not valid JSON"), std::string::npos);
  EXPECT_NE(refused(R"({"kind": "pretraining"})", kPredictions).find("runs/a/results.json: no 'test'"),
            std::string::npos);
  EXPECT_NE(refused(R"({"task": "x", "test": 1})", kPredictions).find("'test' must be an object"),
            std::string::npos);
  EXPECT_NE(refused(R"({"task": 5, "test": {}})", kPredictions).find("'task' a string"), std::string::npos);
  EXPECT_NE(refused(kResults, "ecg_id,CD\n").find("runs/a/test_predictions.csv: expected a header"),
            std::string::npos);
  EXPECT_NE(refused(kResults, "ecg_id,CD\n1,0.5,0.5\n").find("row 2 has 3 fields"), std::string::npos);
  EXPECT_NE(refused(kResults, "ecg_id,CD\nx,0.5\n").find("row 2: ecg_id 'x' is not an integer"), std::string::npos);
  EXPECT_NE(refused(kResults, "ecg_id,CD\n1,y\n").find("ecg_id 1, column 'CD': 'y' is not a number"), std::string::npos);
}


// --- the comparison: runs built in memory on shared targets ---------------------------------

constexpr size_t kRecords = 300;
const std::vector<std::string> kClasses = {"CD", "HYP", "MI"};

// 0/1 targets, about 30 % positive per label (fixed seed).
std::vector<float> make_targets() {
  std::mt19937 rng(7);
  std::bernoulli_distribution positive(0.3);
  std::vector<float> t(kRecords * kClasses.size());
  for (auto& v : t) v = positive(rng) ? 1.f : 0.f;
  return t;
}

// Scores = skill[k] * target + noise, per label k: skill 0 is chance.
std::vector<float> make_scores(const std::vector<float>& targets, const std::vector<float>& skill, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 1.f);
  std::vector<float> s(targets.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = skill[i % kClasses.size()] * targets[i] + noise(rng);
  return s;
}

RunOutcome make_run(const std::string& dir, const std::vector<float>& scores, const std::string& results = kResults) {
  std::string csv = "ecg_id";
  for (const auto& c : kClasses) csv += "," + c;
  csv += "\n";
  for (size_t r = 0; r < kRecords; ++r) {
    csv += std::to_string(100 + r);
    for (size_t k = 0; k < kClasses.size(); ++k) csv += fmt::format(",{}", scores[r * kClasses.size() + k]);
    csv += "\n";
  }
  return parse_run(dir, results, csv);
}

ComparisonOptions options(int resamples) {
  ComparisonOptions o;
  o.data = "test.h5";
  o.bootstrap.resamples = resamples;
  o.bootstrap.seed = 3;
  return o;
}

TEST(RunComparison, PerLabelDifferencesOfARunWithItselfAreExactlyZero) {
  const auto targets = make_targets();
  const RunOutcome a = make_run("runs/a", make_scores(targets, {1.f, 0.5f, 2.f}, 1));
  const RunOutcome same = make_run("runs/same", make_scores(targets, {1.f, 0.5f, 2.f}, 1));
  const nlohmann::json c = compare_runs_on_targets({a, same}, targets, options(200));
  const auto& per_label = c["runs"][1]["vs_baseline"]["per_label"];
  ASSERT_EQ(per_label.size(), kClasses.size());
  for (size_t k = 0; k < kClasses.size(); ++k) {
    EXPECT_EQ(per_label[k]["label"], kClasses[k]);
    for (const char* metric : {"auroc", "auprc"}) {
      const auto& d = per_label[k][metric];
      EXPECT_EQ(d["estimate"], 0.0) << metric << " " << kClasses[k];
      EXPECT_EQ(d["ci"], nlohmann::json({0.0, 0.0})) << metric << " " << kClasses[k];
      EXPECT_EQ(d["p_value"], 1.0);
    }
  }
  EXPECT_FALSE(c["runs"][0].contains("vs_baseline"));
}

TEST(RunComparison, ARunBetterOnOneLabelOnlyShowsItOnThatLabelOnly) {
  const auto targets = make_targets();
  std::vector<float> base_scores = make_scores(targets, {1.f, 0.f, 1.f}, 1);
  std::vector<float> better = base_scores;  // same scores, except HYP: chance -> informative
  const std::vector<float> informative = make_scores(targets, {0.f, 2.f, 0.f}, 2);
  for (size_t r = 0; r < kRecords; ++r) better[r * 3 + 1] = informative[r * 3 + 1];
  const nlohmann::json c = compare_runs_on_targets(
      {make_run("runs/base", base_scores), make_run("runs/better", better)}, targets, options(300));
  const auto& vs = c["runs"][1]["vs_baseline"];
  for (const char* metric : {"auroc", "auprc"}) {
    const auto& hyp = vs["per_label"][1][metric];
    EXPECT_GT(hyp["estimate"].get<double>(), 0.2) << metric;
    EXPECT_GT(hyp["ci"][0].get<double>(), 0.0) << metric;  // positive CI
    EXPECT_LT(hyp["p_value"].get<double>(), 0.05) << metric;
    for (size_t k : {size_t{0}, size_t{2}}) {  // unchanged labels: no difference in any resample
      EXPECT_EQ(vs["per_label"][k][metric]["estimate"], 0.0) << metric << " " << kClasses[k];
      EXPECT_EQ(vs["per_label"][k][metric]["ci"], nlohmann::json({0.0, 0.0})) << metric << " " << kClasses[k];
    }
  }
  // The macro difference is a third of HYP's (same resamples, three labels averaged).
  EXPECT_NEAR(vs["auroc_difference"]["estimate"].get<double>(),
              vs["per_label"][1]["auroc"]["estimate"].get<double>() / 3, 1e-12);

  const std::string table = comparison_markdown(c);
  const size_t macro = table.find("| better |"), per_label = table.find("Per label, `better` vs `base`");
  ASSERT_NE(macro, std::string::npos) << table;
  ASSERT_NE(per_label, std::string::npos) << table;
  EXPECT_LT(macro, per_label) << "the macro table comes first\n" << table;
  EXPECT_NE(table.find("| CD | +0.000 [+0.000, +0.000] p=1.000 | +0.000 [+0.000, +0.000] p=1.000 |"),
            std::string::npos)
      << table;
}

TEST(RunComparison, PerLabelEstimatesAreTheDifferencesOfDirectPerLabelMetrics) {
  const auto targets = make_targets();
  const RunOutcome a = make_run("runs/a", make_scores(targets, {1.f, 0.5f, 2.f}, 1));
  const RunOutcome b = make_run("runs/b", make_scores(targets, {0.7f, 1.5f, 1.f}, 9));
  for (int resamples : {0, 50}) {
    const nlohmann::json c = compare_runs_on_targets({a, b}, targets, options(resamples));
    const auto& per_label = c["runs"][1]["vs_baseline"]["per_label"];
    for (size_t k = 0; k < kClasses.size(); ++k) {
      const size_t n = kClasses.size();
      const double d_auroc = roc_auc(b.probs.data() + k, targets.data() + k, kRecords, n) -
                             roc_auc(a.probs.data() + k, targets.data() + k, kRecords, n);
      const double d_auprc = average_precision(b.probs.data() + k, targets.data() + k, kRecords, n) -
                             average_precision(a.probs.data() + k, targets.data() + k, kRecords, n);
      EXPECT_DOUBLE_EQ(per_label[k]["auroc"]["estimate"].get<double>(), d_auroc) << kClasses[k];
      EXPECT_DOUBLE_EQ(per_label[k]["auprc"]["estimate"].get<double>(), d_auprc) << kClasses[k];
      if (resamples == 0) {
        EXPECT_TRUE(per_label[k]["auroc"]["ci"].is_null());
      }
    }
    if (resamples == 0) {
      EXPECT_NE(comparison_markdown(c).find("| HYP | " +
                                            fmt::format("{:+.3f} [CI n/a]", per_label[1]["auroc"]["estimate"].get<double>())),
                std::string::npos)
          << comparison_markdown(c);
    }
  }
}

TEST(RunComparison, ALabelWithoutPositivesHasNoDifferenceNotANumber) {
  auto targets = make_targets();
  for (size_t r = 0; r < kRecords; ++r) targets[r * 3 + 2] = 0.f;  // MI: no positive on this fold
  const nlohmann::json c = compare_runs_on_targets(
      {make_run("runs/a", make_scores(targets, {1.f, 1.f, 1.f}, 1)), make_run("runs/b", make_scores(targets, {1.f, 1.f, 1.f}, 2))},
      targets, options(100));
  const auto& mi = c["runs"][1]["vs_baseline"]["per_label"][2];
  EXPECT_EQ(mi["evaluable"], false);
  EXPECT_TRUE(mi["auroc"]["estimate"].is_null());
  EXPECT_TRUE(mi["auroc"]["ci"].is_null());
  EXPECT_TRUE(mi["auprc"]["p_value"].is_null());
  EXPECT_TRUE(c["runs"][1]["vs_baseline"]["per_label"][0]["auroc"]["ci"].is_array());  // CD still has one
  const std::string table = comparison_markdown(c);
  EXPECT_NE(table.find("| MI | n/a | n/a |"), std::string::npos) << table;
}

TEST(RunComparison, RefusesRunsOfAnotherInputProfileNamingTheField) {
  const auto targets = make_targets();
  const auto scores = make_scores(targets, {1.f, 1.f, 1.f}, 1);
  auto stmem = nlohmann::json::parse(kResults);
  stmem["settings"]["profile"] = "st-mem";
  auto explicit_default = nlohmann::json::parse(kResults);
  explicit_default["settings"]["profile"] = "default";
  // A run written before the field existed counts as "default".
  EXPECT_NO_THROW(check_comparable({make_run("runs/old", scores), make_run("runs/new", scores, explicit_default.dump())}));
  try {
    compare_runs_on_targets({make_run("runs/old", scores), make_run("runs/stmem", scores, stmem.dump())}, targets,
                            options(10));
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    const std::string m = e.message();
    EXPECT_NE(m.find("profile"), std::string::npos) << m;
    EXPECT_NE(m.find("runs/old"), std::string::npos) << m;
    EXPECT_NE(m.find("runs/stmem"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // compare_runs refuses before it opens the data file (which does not exist here).
  try {
    compare_runs({make_run("runs/stmem", scores, stmem.dump()), make_run("runs/old", scores)}, options(10));
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("settings.profile"), std::string::npos) << e.message();
  }
}

// --- the data file a run was tested on (results.json test_data) ---------------------------

TEST(RunComparison, TestLabelsHashIsTheDocumentedFnv1a) {
  // docs/outputs.md's definition, computed independently (Python) for these inputs.
  EXPECT_EQ(test_labels_fnv1a64({7, 9}, {"CD", "NORM"}, {0, 1, 1, 0}), "ab06b3f3b4cae9bc");
  EXPECT_EQ(test_labels_fnv1a64({7, 9}, {"CD", "NORM"}, {0, 1, 0, 1}), "ab0a18f3b4cdcb32");
  const auto block = test_data_json("d.h5", {7, 9}, {"CD", "NORM"}, {0, 1, 1, 0});
  EXPECT_EQ(block, nlohmann::json({{"path", "d.h5"}, {"records", 2}, {"labels_fnv1a64", "ab06b3f3b4cae9bc"}}));
}

// Runs over a real preprocessed file: its first records as the test fold, results.json with the
// test_data block a `train` run writes.
class RunComparisonOnFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ecg::testing::TempDir();
    std::string why;
    h5_ = ecg::testing::make_synthetic_h5(*dir_, "s", 60, 11, &why);
    ASSERT_FALSE(h5_.empty()) << why;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // A run scored on the file's first 40 records; `test_data` false: written before the field.
  static RunOutcome run_on(const std::string& dir, bool test_data, unsigned seed) {
    const auto info = data::read_dataset_info(h5_);
    const auto labels = data::read_labels(h5_, "superdiagnostic");
    std::vector<int64_t> ids;
    std::vector<float> targets;
    std::string csv = "ecg_id";
    for (const auto& c : labels.classes) csv += "," + c;
    csv += "\n";
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> score(0.f, 1.f);
    for (int64_t i = 0; i < 40; ++i) {
      ids.push_back(info.ecg_id[static_cast<size_t>(i)]);
      csv += std::to_string(ids.back());
      for (size_t k = 0; k < labels.classes.size(); ++k) {
        targets.push_back(labels.at(i, k) ? 1.f : 0.f);
        csv += fmt::format(",{}", score(rng));
      }
      csv += "\n";
    }
    auto results = nlohmann::json::parse(kResults);
    if (test_data) results["test_data"] = test_data_json(h5_, ids, labels.classes, targets);
    return parse_run(dir, results.dump(), csv);
  }
  static ComparisonOptions on(const std::string& data) {
    ComparisonOptions o = options(20);
    o.data = data;
    return o;
  }
  static ecg::testing::TempDir* dir_;
  static std::string h5_;
};
ecg::testing::TempDir* RunComparisonOnFile::dir_ = nullptr;
std::string RunComparisonOnFile::h5_;

TEST_F(RunComparisonOnFile, RefusesAFileWithTheSameRecordsButOtherLabels) {
  const RunOutcome a = run_on("runs/a", true, 1), b = run_on("runs/b", true, 2);
  // The file the runs were tested on: accepted.
  const nlohmann::json c = compare_runs({a, b}, on(h5_));
  EXPECT_EQ(c["records"], 40);
  // Same ecg_ids, classes and signals; one test label flipped.
  const std::string other = *dir_ / "relabelled.h5";
  ecg::testing::copy_h5_with_flipped_label(h5_, other, "superdiagnostic", 3, 0);
  try {
    compare_runs({a, b}, on(other));
    FAIL() << "a file with other labels was accepted";
  } catch (const ecg::Error& e) {
    const std::string m = e.message();
    EXPECT_NE(m.find("runs/a"), std::string::npos) << m;
    EXPECT_NE(m.find(other), std::string::npos) << m;
    EXPECT_NE(m.find("test_data.labels_fnv1a64"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // A label of a record outside the runs' test records changes nothing they were scored on.
  const std::string untouched = *dir_ / "relabelled_elsewhere.h5";
  ecg::testing::copy_h5_with_flipped_label(h5_, untouched, "superdiagnostic", 50, 0);
  EXPECT_NO_THROW(compare_runs({a, b}, on(untouched)));
}

TEST_F(RunComparisonOnFile, ARunWrittenBeforeTestDataIsComparedWithAWarning) {
  const std::string other = *dir_ / "relabelled_old.h5";
  ecg::testing::copy_h5_with_flipped_label(h5_, other, "superdiagnostic", 3, 0);
  // Nothing to check against: accepted (docs/outputs.md), the warning says so.
  EXPECT_NO_THROW(compare_runs({run_on("runs/old_a", false, 1), run_on("runs/old_b", false, 2)}, on(other)));
  // Mixed: the run that records its labels is still checked.
  EXPECT_THROW(compare_runs({run_on("runs/old", false, 1), run_on("runs/new", true, 2)}, on(other)), ecg::Error);
  // A malformed field is an error naming it.
  auto bad = run_on("runs/bad", true, 1);
  bad.results["test_data"]["labels_fnv1a64"] = 5;
  try {
    compare_runs({bad}, on(h5_));
    FAIL() << "expected an error";
  } catch (const ecg::Error& e) {
    EXPECT_NE(e.message().find("runs/bad/results.json: 'test_data.labels_fnv1a64' must be a string"),
              std::string::npos)
        << e.message();
  }
}

}  // namespace
}  // namespace ecg::eval
