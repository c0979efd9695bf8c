// The run directory `ecgdist compare` reads (results.json + test_predictions.csv), parsed from
// memory: what it keeps, what it refuses, and a test block without every metric (found by
// tests/fuzz/run_dir_fuzz.cpp: undefined behaviour before, n/a now).
#include "eval/run_comparison.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

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
  EXPECT_NE(refused(kResults, "ecg_id,CD\nx,0.5\n").find("not a number"), std::string::npos);
}

}  // namespace
}  // namespace ecg::eval
