// `ecgdist sweep` end to end on a real (tiny) grid: two cells trained side by side, collected
// into sweep.csv; a second run skips them; --list, --count and --prepare-cell (what the SLURM
// array script reads) agree with the local run; a bad grid is a one-line error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using ecg::testing::read_text_file;
using ecg::testing::run_command;
using ecg::testing::run_ecgdist;
using ecg::testing::write_text_file;

namespace {

TEST(SweepRun, RunsCellsSideBySideSkipsFinishedOnesAndCollects) {
  ecg::testing::TempDir dir;
  std::string why;
  ASSERT_FALSE(ecg::testing::make_synthetic_h5(dir, "ptbxl", 120, 4, &why).empty()) << why;
  const std::string grid = dir / "grid.json";
  // "data" is relative to the grid file.
  write_text_file(grid, R"({"data": "ptbxl.h5", "tasks": ["superdiagnostic"], "variants": ["fine-tune", "wo-sd"],
    "fractions": [0.5], "seeds": [3], "model": "tiny", "lp_epochs": 1,
    "train_args": ["--epochs", "1", "--batch-size", "16", "--crop-length", "750", "--eval-crops", "1",
                   "--bootstrap", "20"]})");
  const std::string out = dir / "sweep";
  auto count = run_ecgdist("sweep " + grid + " --out " + out + " --count");
  ASSERT_EQ(count.exit_code, 0) << count.output;
  EXPECT_EQ(count.output, "2\n");

  auto r = run_ecgdist("sweep " + grid + " --out " + out + " --jobs 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string cell = out + "/superdiagnostic/wo-sd/frac-0.5/seed-3";
  const auto results = nlohmann::json::parse(read_text_file(cell + "/results.json"));
  EXPECT_EQ(results["recipe"], "post-train");
  EXPECT_EQ(results["settings"]["drop_path"], 0.0);
  EXPECT_EQ(results["settings"]["lp_epochs"], 1);
  EXPECT_EQ(results["settings"]["train_fraction"], 0.5);
  EXPECT_EQ(results["settings"]["seed"], 3);
  EXPECT_EQ(results["settings"]["threads"], 1);
  EXPECT_TRUE(fs::exists(out + "/superdiagnostic/fine-tune/frac-0.5/seed-3/results.json"));
  const std::string csv = read_text_file(out + "/sweep.csv");
  EXPECT_NE(csv.find("\n0,superdiagnostic,fine-tune,0.5,3,done,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n1,superdiagnostic,wo-sd,0.5,3,done,"), std::string::npos) << csv;
  EXPECT_NE(r.output.find("2/2 cells done"), std::string::npos) << r.output;

  // Again: nothing to run, the finished results untouched.
  const auto written = fs::last_write_time(cell + "/results.json");
  auto again = run_ecgdist("sweep " + grid + " --out " + out);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("0 cells ran now, 2 were finished before"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(cell + "/results.json"), written);

  // What slurm/ecgdist-sweep.sbatch evaluates for array index 1.
  auto prepared = run_ecgdist("sweep " + grid + " --out " + out + " --prepare-cell 1");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("cell_dir='" + cell + "'"), std::string::npos) << prepared.output;
  EXPECT_NE(prepared.output.find("cell_recipe='post-train'"), std::string::npos) << prepared.output;
  EXPECT_NE(prepared.output.find("cell_args='--drop-path 0 --train-fraction 0.5 --seed 3 --lp-epochs 1 --model tiny"),
            std::string::npos)
      << prepared.output;
  auto outside = run_ecgdist("sweep " + grid + " --out " + out + " --prepare-cell 2");
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_NE(outside.output.find("cells 0..1"), std::string::npos) << outside.output;

  // The grid edited under finished cells: refused before anything runs.
  write_text_file(grid, read_text_file(grid).replace(read_text_file(grid).find("\"1\""), 3, "\"2\""));
  auto edited = run_ecgdist("sweep " + grid + " --out " + out);
  EXPECT_NE(edited.exit_code, 0);
  EXPECT_NE(edited.output.find("sweep_cell.json: field train_args"), std::string::npos) << edited.output;
  EXPECT_EQ(fs::last_write_time(cell + "/results.json"), written);
}

TEST(SweepRun, ABadGridIsAOneLineError) {
  ecg::testing::TempDir dir;
  write_text_file(dir / "grid.json", R"({"data": "missing.h5", "tasks": ["superdiagnostic"]})");
  auto r = run_ecgdist("sweep " + (dir / "grid.json") + " --out " + (dir / "out"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("field data: " + (dir / "missing.h5") + " does not exist"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out/sweep.csv"));
}

TEST(SweepRun, AHugeGridWritesNothingAndTheFlagRaisesTheLimit) {
  ecg::testing::TempDir dir;
  std::string seeds;
  for (int s = 0; s < 3000; ++s) seeds += (s ? "," : "") + std::to_string(s);
  write_text_file(dir / "grid.json", R"({"data": "d.h5", "tasks": ["form"], "fractions": [1], "seeds": [)" + seeds + "]}");
  auto r = run_ecgdist("sweep " + (dir / "grid.json") + " --out " + (dir / "out"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("12000 cells"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out"));
  r = run_ecgdist("sweep " + (dir / "grid.json") + " --out " + (dir / "out") + " --max-cells 12000 --count");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("12000"), std::string::npos) << r.output;
}

}  // namespace
