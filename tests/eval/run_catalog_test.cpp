// eval::find_runs on hand-made folders: the variant read from settings (the paper's recipes and
// ablations), sweep_cell.json winning over it, the catalogue's order, what is skipped, and errors
// that name the file at fault.
#include "eval/run_catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/error.h"
#include "eval/run_comparison.h"
#include "eval/run_files.h"
#include "tests/test_util.h"

namespace ecg::eval {
namespace {

using ecg::testing::TempDir;
using ecg::testing::write_text_file;

nlohmann::json settings(const std::string& recipe, double drop_path, int lp_epochs, double fraction = 1.0,
                        int seed = 0) {
  return {{"recipe", recipe}, {"drop_path", drop_path}, {"lp_epochs", lp_epochs}, {"train_fraction", fraction},
          {"seed", seed}, {"data", "s.h5"}};
}

void write_run(const std::string& dir, const nlohmann::json& s, const std::string& task = "superdiagnostic") {
  std::filesystem::create_directories(dir);
  write_text_file(dir + "/results.json",
                  nlohmann::json{{"task", task}, {"recipe", s.at("recipe")}, {"settings", s}, {"test", {}}}.dump());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ecg::Error& e) {
    return e.message();
  }
  return "(no error)";
}

TEST(RunCatalog, ClassifiesThePapersRecipesAndAblations) {
  EXPECT_EQ(classify_variant(settings("fine-tune", 0, 5), "f"), Variant::fine_tune);
  EXPECT_EQ(classify_variant(settings("fine-tune", 0.1, 0), "f"), Variant::wo_lp);
  EXPECT_EQ(classify_variant(settings("post-train", 0.1, 0), "f"), Variant::wo_lp);
  EXPECT_EQ(classify_variant(settings("post-train", 0.0, 0), "f"), Variant::wo_lp);  // lp_epochs 0 decides first
  EXPECT_EQ(classify_variant(settings("post-train", 0, 5), "f"), Variant::wo_sd);
  EXPECT_EQ(classify_variant(settings("post-train", 0.1, 5), "f"), Variant::post_train);
  EXPECT_EQ(classify_variant(settings("post-train", -1, 5), "f"), Variant::post_train);  // unresolved default
  EXPECT_EQ(classify_variant(settings("linear-probe", 0, 5), "f"), Variant::linear_probe);
  for (Variant v : {Variant::fine_tune, Variant::post_train, Variant::wo_sd, Variant::wo_lp, Variant::linear_probe})
    EXPECT_EQ(parse_variant(variant_name(v), "x"), v);
  EXPECT_STREQ(variant_title(Variant::wo_sd), "w/o SD");
  EXPECT_NE(error_of([] { parse_variant("fine_tune", "cell.json: variant"); }).find("cell.json: variant: unknown variant 'fine_tune'"),
            std::string::npos);
  auto no_drop = settings("post-train", 0.1, 5);
  no_drop.erase("drop_path");
  EXPECT_NE(error_of([&] { classify_variant(no_drop, "r/results.json"); }).find("r/results.json: settings.drop_path"),
            std::string::npos);
  EXPECT_NE(error_of([] { classify_variant(settings("pretrain", 0, 0), "r/results.json"); }).find("'pretrain'"),
            std::string::npos);
}

TEST(RunCatalog, FindsRunsRecursivelySortedWithTheSweepCellsVariantFirst) {
  TempDir dir;
  write_run(dir / "sweep/b/seed1", settings("post-train", 0.1, 5, 1.0, 1));
  write_run(dir / "sweep/b/seed0", settings("post-train", 0.1, 5, 1.0, 0));
  write_run(dir / "sweep/a", settings("fine-tune", 0, 5, 0.1, 0));
  write_run(dir / "sweep/rhythm", settings("fine-tune", 0, 5), "rhythm");
  // A fine-tune run with drop path reads as w/o LP, but the sweep asked for a fine-tune cell.
  write_run(dir / "sweep/cell", settings("fine-tune", 0.1, 5, 0.5, 2));
  write_text_file(dir / "sweep/cell/sweep_cell.json",
                  R"({"variant": "fine-tune", "task": "superdiagnostic", "fraction": 0.5, "seed": 2})");
  // Not runs: pretraining's results.json, a folder without results.json.
  std::filesystem::create_directories(dir / "sweep/pre");
  write_text_file(dir / "sweep/pre/results.json", R"({"kind": "pretraining", "epochs": 3})");
  std::filesystem::create_directories(dir / "sweep/empty/checkpoints");

  // The sweep and one of its runs given both: that run once.
  const auto runs = find_runs({dir / "sweep", dir / "sweep/a"});
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[0].task, "rhythm");  // tasks sort first
  EXPECT_EQ(runs[0].results.at("settings").at("data"), "s.h5");
  EXPECT_EQ(runs[1].dir, dir / "sweep/a");  // superdiagnostic fine-tune 0.1
  EXPECT_EQ(runs[1].fraction, 0.1);
  EXPECT_EQ(runs[2].dir, dir / "sweep/cell");  // fine-tune 0.5 (sweep_cell.json)
  EXPECT_EQ(runs[2].variant, Variant::fine_tune);
  EXPECT_EQ(runs[2].seed, 2u);
  EXPECT_EQ(runs[3].dir, dir / "sweep/b/seed0");
  EXPECT_EQ(runs[4].dir, dir / "sweep/b/seed1");
  EXPECT_EQ(runs[4].variant, Variant::post_train);
}

TEST(RunCatalog, ErrorsNameTheFile) {
  TempDir dir;
  EXPECT_NE(error_of([&] { find_runs({dir / "missing"}); }).find(dir / "missing" + ": no such folder"),
            std::string::npos);
  std::filesystem::create_directories(dir / "bad");
  write_text_file(dir / "bad/results.json", "{\"task\": ");
  EXPECT_NE(error_of([&] { find_runs({dir.path()}); }).find(dir / "bad/results.json: not valid JSON"),
            std::string::npos);
  write_run(dir / "bad", settings("post-train", 0.1, 5));
  write_text_file(dir / "bad/sweep_cell.json", R"({"variant": "ablation"})");
  EXPECT_NE(error_of([&] { find_runs({dir.path()}); }).find(dir / "bad/sweep_cell.json: variant: unknown variant"),
            std::string::npos);
  std::filesystem::remove(dir / "bad/sweep_cell.json");
  // A seed that is not an integer in [0, 2^53 - 1] is named, never converted (1e300 to uint64 is
  // undefined behaviour; -1 would wrap).
  for (const nlohmann::json& seed : {nlohmann::json(1e300), nlohmann::json(-1), nlohmann::json(2.5),
                                     nlohmann::json(uint64_t{1} << 60)}) {
    auto bad_seed = settings("post-train", 0.1, 5);
    bad_seed["seed"] = seed;
    write_run(dir / "bad", bad_seed);
    EXPECT_NE(error_of([&] { find_runs({dir.path()}); })
                  .find(dir / "bad/results.json: settings.seed must be an integer in [0, 9007199254740991]"),
              std::string::npos)
        << seed.dump();
  }
  auto s = settings("post-train", 0.1, 5);
  s.erase("train_fraction");
  write_run(dir / "bad", s);
  EXPECT_NE(error_of([&] { find_runs({dir.path()}); }).find(dir / "bad/results.json: settings.train_fraction"),
            std::string::npos);
}

// Issue 23: every run file has one size limit (a 100 MB results.json took 3 GB to parse), and
// errors name the run folder, the file and a record by its ecg_id, not by its position.
TEST(RunFiles, OversizedRunFilesAreRefusedBeforeParsingNamingRunAndFile) {
  TempDir dir;
  const std::string run = dir / "big";
  write_run(run, settings("fine-tune", 0, 0));
  // Valid JSON, one byte over the limit: refused by size, not by content.
  const size_t limit = run_file_limit(RunFile::results_json);
  EXPECT_EQ(limit, size_t{16} << 20);
  std::string big = R"({"task": "superdiagnostic", "pad": ")";
  big += std::string(limit + 1 - big.size() - 2, 'x') + "\"}";
  ASSERT_EQ(big.size(), limit + 1);
  write_text_file(run + "/results.json", big);
  std::string why = error_of([&] { find_runs({dir / ""}); });
  EXPECT_NE(why.find(run + "/results.json: " + std::to_string(limit + 1) +
                     " bytes, over the limit of 16 MB for a run's results.json"),
            std::string::npos)
      << why;
  why = error_of([&] { read_run(run); });
  EXPECT_NE(why.find("results.json: " + std::to_string(limit + 1) + " bytes"), std::string::npos) << why;
  EXPECT_EQ(run_file_limit(RunFile::test_predictions_csv), size_t{256} << 20);
  EXPECT_EQ(run_file_limit(RunFile::history_csv), size_t{64} << 20);
}

TEST(RunFiles, ANonFiniteScoreNamesTheFileAndTheEcgId) {
  const std::string results = R"({"task": "superdiagnostic", "test": {}})";
  std::string why = error_of([&] { parse_run("runs/a", results, "ecg_id,CD,MI\n17,0.5,0.25\n4242,nan,0.5\n"); });
  EXPECT_EQ(why, "runs/a/test_predictions.csv: ecg_id 4242, column 'CD': score is nan");
  why = error_of([&] { parse_run("runs/a", results, "ecg_id,CD\n17,inf\n"); });
  EXPECT_EQ(why, "runs/a/test_predictions.csv: ecg_id 17, column 'CD': score is inf");
  why = error_of([&] { parse_run("runs/a", results, "ecg_id,CD\n17,\n"); });
  EXPECT_NE(why.find("ecg_id 17, column 'CD'"), std::string::npos) << why;
  why = error_of([&] { parse_run("runs/a", results, "ecg_id,CD\n17,0.1\n17,0.2\n"); });
  EXPECT_EQ(why, "runs/a/test_predictions.csv: ecg_id 17 appears twice (row 3)");
  why = error_of([&] { parse_run("runs/a", results, "ecg_id,CD\n17x,0.1\n"); });
  EXPECT_NE(why.find("row 2: ecg_id '17x' is not an integer"), std::string::npos) << why;
}

}  // namespace
}  // namespace ecg::eval
