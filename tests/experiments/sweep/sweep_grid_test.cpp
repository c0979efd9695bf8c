// The grid file: what it accepts and refuses (one line naming the file and field), the cells it
// makes in a fixed order (a SLURM array index is the same cell as in a local run), and the train
// arguments each variant gets.
#include "experiments/sweep/sweep_grid.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "experiments/sweep/cell_runner.h"
#include "experiments/sweep/sweep_table.h"
#include "tests/test_util.h"

namespace ecg::sweep {
namespace {

std::string refusal(const std::string& text) {
  try {
    parse_grid("/grids/g.json", text);
  } catch (const ecg::Error& e) {
    return e.message();
  }
  return "(accepted)";
}

bool has(const std::vector<std::string>& args, const std::vector<std::string>& seq) {
  return std::search(args.begin(), args.end(), seq.begin(), seq.end()) != args.end();
}

TEST(SweepGrid, DefaultsAndPathsRelativeToTheFile) {
  const SweepGrid g = parse_grid("/grids/g.json", R"({"data": "d/ptbxl.h5", "tasks": ["form"], "init": "/enc.pth"})");
  EXPECT_EQ(g.data, "/grids/d/ptbxl.h5");
  EXPECT_EQ(g.init, "/enc.pth");
  ASSERT_EQ(g.variants.size(), 4u);  // fine-tune, post-train, w/o SD, w/o LP
  EXPECT_EQ(g.fractions.size(), 10u);
  EXPECT_DOUBLE_EQ(g.fractions.front(), 0.1);
  EXPECT_DOUBLE_EQ(g.fractions.back(), 1.0);
  EXPECT_EQ(g.seeds, (std::vector<uint64_t>{0}));
  EXPECT_EQ(g.ranks, 1);
}

TEST(SweepGrid, CellsInAFixedOrderWithEachVariantsArguments) {
  const SweepGrid g = parse_grid("/grids/g.json", R"({"data": "/d.h5", "tasks": ["superdiagnostic", "form"],
      "variants": ["fine-tune", "post-train", "wo-sd", "wo-lp"], "fractions": [0.1, 1.0], "seeds": [0, 7],
      "model": "base", "drop_path": 0.2, "lp_epochs": 3, "train_args": ["--epochs", "50"]})");
  const auto cells = grid_cells(g, "/sweep");
  ASSERT_EQ(cells.size(), 2u * 4 * 2 * 2);
  // index = ((task * variants + variant) * fractions + fraction) * seeds + seed
  const SweepCell& c = cells[((1 * 4 + 2) * 2 + 1) * 2 + 1];
  EXPECT_EQ(c.task, "form");
  EXPECT_EQ(c.variant, eval::Variant::wo_sd);
  EXPECT_DOUBLE_EQ(c.fraction, 1.0);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.dir, "/sweep/form/wo-sd/frac-1/seed-7");
  EXPECT_TRUE(has(c.train_args, {"--data", "/d.h5", "--task", "form", "--recipe", "post-train", "--drop-path", "0"}));
  EXPECT_TRUE(has(c.train_args, {"--train-fraction", "1", "--seed", "7"}));
  EXPECT_TRUE(has(c.train_args, {"--lp-epochs", "3"}));      // w/o SD keeps linear probing
  EXPECT_FALSE(has(c.train_args, {"--drop-path", "0.2"}));  // ... and has no stochastic depth
  EXPECT_TRUE(has(c.train_args, {"--model", "base", "--epochs", "50"}));
  const auto& wo_lp = cells[(1 * 4 + 3) * 4].train_args;
  EXPECT_TRUE(has(wo_lp, {"--recipe", "post-train", "--lp-epochs", "0", "--train-fraction", "0.1"}));
  EXPECT_TRUE(has(wo_lp, {"--drop-path", "0.2"}));
  const auto& base = cells[0].train_args;
  EXPECT_TRUE(has(base, {"--recipe", "fine-tune", "--train-fraction", "0.1", "--seed", "0"}));
  EXPECT_FALSE(has(base, {"--drop-path", "0.2"}));
  // The local runner adds what the launcher owns.
  RunOptions run;
  run.ecgdist = "/bin/ecgdist";
  const auto argv = cell_command(g, cells[0], run);
  EXPECT_EQ(argv[0], "/bin/ecgdist");
  EXPECT_TRUE(has(argv, {"--out", cells[0].dir, "--threads", "1", "--resume", "auto"}));
}

TEST(SweepGrid, RefusesWhatWouldRunTheWrongGridNamingTheField) {
  EXPECT_NE(refusal("{").find("/grids/g.json: not JSON"), std::string::npos);
  EXPECT_NE(refusal(R"({"tasks": ["form"]})").find("field data"), std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "seed": [1, 2]})").find("unknown field seed"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["forms"]})").find("unknown task forms"), std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "variants": ["post-training"]})").find("variants"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "fractions": [0, 1]})").find("fractions"), std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "seeds": [1, 1]})").find("twice"), std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "seeds": "0"})").find("field seeds"), std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "train_args": ["--out", "x"]})").find("--out"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "train_args": ["--drop-path=0.3"]})").find("--drop-path"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"data": "d", "tasks": ["form"], "ranks": 0})").find("field ranks"), std::string::npos);
}

// Hostile and careless grids (issue 23): integers are range-checked on the JSON number (a seed of
// -1 used to become 18446744073709551615, ranks 4294967297 became 1), fractions are compared as
// the folder names they make, and a huge grid is refused before any cell exists.
TEST(SweepGrid, IntegersAreRangeCheckedNotWrapped) {
  const std::string base = R"({"data": "d", "tasks": ["form"], )";
  EXPECT_NE(refusal(base + R"("seeds": [-1]})").find("field seeds: -1 is not an integer in [0, "), std::string::npos)
      << refusal(base + R"("seeds": [-1]})");
  EXPECT_NE(refusal(base + R"("seeds": [1.5]})").find("field seeds: 1.5"), std::string::npos);
  EXPECT_NE(refusal(base + R"("seeds": [18446744073709551615]})").find("field seeds"), std::string::npos);
  EXPECT_NE(refusal(base + R"("ranks": 4294967297})").find("field ranks: 4294967297 is not an integer in [1, 4096]"),
            std::string::npos);
  EXPECT_NE(refusal(base + R"("threads": -2})").find("field threads"), std::string::npos);
  EXPECT_NE(refusal(base + R"("lp_epochs": 4294967297})").find("field lp_epochs"), std::string::npos);
  const SweepGrid g = parse_grid("/grids/g.json", base + R"("seeds": [0, 9007199254740991]})");
  EXPECT_EQ(g.seeds.back(), 9007199254740991u);
}

TEST(SweepGrid, FractionsThatShareAFolderAreDuplicates) {
  const std::string why =
      refusal(R"({"data": "d", "tasks": ["form"], "fractions": [0.1, 0.1000001]})");
  EXPECT_NE(why.find("field fractions"), std::string::npos) << why;
  EXPECT_NE(why.find("twice"), std::string::npos) << why;
  // Distinct folder names stay distinct cells.
  const SweepGrid g = parse_grid("/grids/g.json", R"({"data": "d", "tasks": ["form"], "fractions": [0.1, 0.15]})");
  const auto cells = grid_cells(g, "/s");
  EXPECT_NE(cells[0].dir, cells[4].dir);
}

TEST(SweepGrid, AGridOverTheCellLimitIsRefusedBeforeAnyCell) {
  // 2 tasks x 4 variants x 10 fractions x 200 seeds = 16,000 cells > 10,000.
  std::string seeds;
  for (int s = 0; s < 200; ++s) seeds += (s ? "," : "") + std::to_string(s);
  const std::string text = R"({"data": "d", "tasks": ["form", "rhythm"], "seeds": [)" + seeds + "]}";
  const std::string why = refusal(text);
  EXPECT_NE(why.find("16000 cells"), std::string::npos) << why;
  EXPECT_NE(why.find("--max-cells"), std::string::npos) << why;
  EXPECT_EQ(grid_cells(parse_grid("/grids/g.json", text, 16000), "/s").size(), 16000u);
}

TEST(SweepGrid, ACellRunWithOtherArgumentsIsRefusedNotReported) {
  ecg::testing::TempDir dir;
  const std::string grid_path = dir / "g.json";
  SweepGrid g = parse_grid(grid_path, R"({"data": "/d.h5", "tasks": ["form"], "variants": ["post-train"],
                                          "fractions": [1.0]})");
  auto cells = grid_cells(g, dir / "sweep");
  prepare_cell(g, cells[0]);
  const auto record = nlohmann::json::parse(ecg::testing::read_text_file(cells[0].dir + "/sweep_cell.json"));
  EXPECT_EQ(record["variant"], "post-train");
  EXPECT_EQ(record["train_args"].get<std::vector<std::string>>(), cells[0].train_args);
  EXPECT_EQ(collect_cells(cells)[0].status, CellStatus::pending);
  prepare_cell(g, cells[0]);  // the same cell again: fine
  g.train_args = {"--epochs", "3"};
  cells = grid_cells(g, dir / "sweep");
  try {
    prepare_cell(g, cells[0]);
    FAIL() << "accepted a cell folder of another grid";
  } catch (const ecg::Error& e) {
    EXPECT_NE(std::string(e.message()).find("sweep_cell.json: field train_args"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace ecg::sweep
