// End-to-end tests of `ecgdist pretrain` on a small synthetic PTB-XL: 2-rank pretraining lowers
// the held-out reconstruction loss, its encoder loads into `train --init` with every encoder key
// and exports to a file the published ST-MEM ViT loads; preempted + resumed == uninterrupted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "trainer/engine/checkpoint_files.h"
#include "model/checkpoint.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using ecg::testing::run_command;
using ecg::testing::run_ecgdist;

namespace {

class PretrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ecg::testing::TempDir();
    std::string why;
    ASSERT_EQ(ecg::testing::make_synthetic_h5(*dir_, "unlabelled", 160, 5, &why), data()) << why;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string data() { return *dir_ / "unlabelled.h5"; }
  static std::string run_dir(const std::string& name) { return *dir_ / name; }
  // 1200-sample crops (16 patches, 4 kept per lead), tiny, 1 thread per rank.
  static std::string common_args() {
    return " --data " + data() + " --model tiny --batch-size 16 --crop-length 1200 --threads 1"
           " --lr 1e-3 --warmup-fraction 0.1 --val-folds 10 --progress off ";
  }
  static nlohmann::json results(const std::string& run) {
    std::ifstream in(fs::path(run) / "results.json");
    return nlohmann::json::parse(in);
  }
  static ecg::testing::TempDir* dir_;
};
ecg::testing::TempDir* PretrainCli::dir_ = nullptr;

TEST_F(PretrainCli, TwoRanksLowerHeldOutLossAndTheEncoderFeedsTrainAndExport) {
  const std::string out = run_dir("pre");
  auto r = run_command(ecg::testing::mpirun_np2() + std::string(ECGDIST_BIN) + " pretrain" + common_args() +
                       "--epochs 3 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = results(out);
  EXPECT_EQ(j["kind"], "pretraining");
  EXPECT_EQ(j["world_size"], 2);
  EXPECT_EQ(j["history"].size(), 3u);
  const double before = j["initial_val_loss"].get<double>();
  const double after = j["final_val_loss"].get<double>();
  EXPECT_GT(before, 0);
  EXPECT_LT(after, before) << r.output;
  auto history = ecg::testing::read_text_file(out + "/pretrain_history.csv");
  EXPECT_EQ(history.rfind("epoch,train_loss,val_loss,lr,seconds\n", 0), 0u);
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 4);

  // The encoder: ST-MEM names, no head, no decoder, no "encoder." prefix.
  auto enc = ecg::model::load_checkpoint(out + "/encoder.ckpt");
  EXPECT_EQ(enc.meta["kind"], "encoder");
  EXPECT_TRUE(enc.state.count("pos_embedding"));
  EXPECT_TRUE(enc.state.count("block3.ff.fn.net.0.weight"));
  for (const auto& [name, t] : enc.state) {
    EXPECT_NE(name.rfind("head.", 0), 0u) << name;
    EXPECT_EQ(name.find("decoder"), std::string::npos) << name;
    EXPECT_NE(name.rfind("encoder.", 0), 0u) << name;
  }

  // train --init loads every encoder tensor (strict loading would name any missing key).
  const std::string ft = run_dir("ft-from-pre");
  auto t = run_ecgdist("train --data " + data() + " --task superdiagnostic --model tiny --recipe fine-tune"
                       " --epochs 1 --batch-size 16 --threads 1 --bootstrap 20 --eval-crops 1 --progress off"
                       " --init " + out + "/encoder.ckpt --out " + ft);
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("loaded " + std::to_string(enc.state.size()) + " encoder tensors"), std::string::npos)
      << t.output;

  // An encoder where a classifier is needed: one line naming the file, what it is and the way on.
  for (const char* cmd : {"evaluate --data ", "predict --input "}) {
    auto refused = run_ecgdist(std::string(cmd) + data() + " --checkpoint " + out + "/encoder.ckpt --out " + out +
                               "/refused --threads 1");
    EXPECT_NE(refused.exit_code, 0) << cmd;
    EXPECT_NE(refused.output.find("--checkpoint " + out + "/encoder.ckpt is an encoder without a "
                                  "classification head (checkpoint kind 'encoder'), but scoring needs a classifier"),
              std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("ecgdist train --init " + out + "/encoder.ckpt"), std::string::npos);
  }

  // export -> the published ST_MEM_ViT (no head) loads it; only its head is missing.
  auto e = run_ecgdist("export --checkpoint " + out + "/encoder.ckpt --out " + out + "/encoder.pt");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  auto py = ecg::testing::run_python(
      "import sys, torch\nsys.path.insert(0, '" + ecg::testing::test_source_dir() +
      "/model')\nfrom st_mem_reference import st_mem_vit\n"
      "m = st_mem_vit('tiny', num_classes=5)\n"
      "msg = m.load_state_dict(torch.load('" + out + "/encoder.pt'), strict=False)\n"
      "assert set(msg.missing_keys) == {'head.weight', 'head.bias'}, msg\n"
      "assert not msg.unexpected_keys, msg\n");
  EXPECT_EQ(py.exit_code, 0) << py.output;
}

TEST_F(PretrainCli, PreemptedAndResumedEqualsUninterrupted) {
  const std::string whole = run_dir("pre-whole");
  auto a = run_ecgdist("pretrain" + common_args() + "--epochs 2 --out " + whole);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const std::string parts = run_dir("pre-parts");
  auto b = run_ecgdist("pretrain" + common_args() + "--epochs 2 --max-steps 5 --out " + parts);
  ASSERT_EQ(b.exit_code, 75) << b.output;
  EXPECT_FALSE(ecg::engine::newest_checkpoint(parts).empty());
  auto c = run_ecgdist("pretrain" + common_args() + "--epochs 2 --resume auto --out " + parts);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  auto x = results(whole), y = results(parts);
  EXPECT_NEAR(x["final_train_loss"].get<double>(), y["final_train_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(x["final_val_loss"].get<double>(), y["final_val_loss"].get<double>(), 1e-5);
  // A pretraining checkpoint is not a training one, and vice versa.
  auto wrong = run_ecgdist("train --data " + data() + " --model tiny --epochs 1 --threads 1 --resume " +
                           ecg::engine::newest_checkpoint(parts) + " --out " + run_dir("wrong"));
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.output.find("not a training checkpoint"), std::string::npos) << wrong.output;
}

TEST_F(PretrainCli, BadArgumentsAreOneLineErrors) {
  auto r = run_ecgdist("pretrain --data " + data() + " --crop-length 1000 --out " + run_dir("bad1"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--crop-length"), std::string::npos) << r.output;
  auto f = run_ecgdist("pretrain --data " + data() + " --folds 1 --val-folds 1 --out " + run_dir("bad2"));
  EXPECT_NE(f.exit_code, 0);
  EXPECT_NE(f.output.find("--val-folds"), std::string::npos) << f.output;
}

// Pretraining on what foundation models are pretrained on: Challenge-style, CODE-15%-style and
// plain WFDB records merged into one file (mixed rates, each record's origin kept), 2 ranks.
TEST(PretrainOnMergedSources, TwoRanksTrainOnAMergedChallengeCode15AndWfdbFile) {
  ecg::testing::TempDir dir;
  std::string merge;
  for (const char* format : {"challenge", "code15", "wfdb"}) {
    auto r = run_ecgdist(std::string("synth --format ") + format + " --records 60 --seed 4 --out " + dir / format);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    merge += std::string(" --merge ") + format + "=" + dir / format;
  }
  const std::string h5 = dir / "merged.h5";
  auto r = run_ecgdist("preprocess --skip-bad-records --threads 2 --out " + h5 + merge);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string out = dir / "pre";
  r = run_command(ecg::testing::mpirun_np2() + std::string(ECGDIST_BIN) + " pretrain --data " + h5 +
                  " --model tiny --batch-size 16 --crop-length 1200 --threads 1 --lr 1e-3 --warmup-fraction 0.1"
                  " --val-folds 10 --progress off --epochs 1 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(fs::path(out) / "results.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["world_size"], 2);
  EXPECT_GT(j["final_val_loss"].get<double>(), 0);
  EXPECT_TRUE(fs::exists(fs::path(out) / "encoder.ckpt"));
}

}  // namespace
