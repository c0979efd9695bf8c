// End-to-end tests of `ecgdist train --profile st-mem` on a small synthetic PTB-XL preprocessed
// the way the profile needs (250 Hz, no band-pass, no normalisation): the refusals (a wrongly
// preprocessed file, another crop length), the run's outputs and schedule defaults, `evaluate`
// reproducing the run's test metrics from best.ckpt, `predict` using the checkpoint's profile,
// and exact resume. Tiny model, 1 thread, one epoch of a few steps each.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using ecg::testing::run_ecgdist;

namespace {

class StMemProfile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ecg::testing::TempDir();
    auto synth = run_ecgdist("synth --out " + *dir_ / "ptbxl" + " --records 120 --sampling-rate 100 --seed 5");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    auto raw = run_ecgdist("preprocess --ptbxl " + *dir_ / "ptbxl" + " --out " + raw_data() +
                           " --sampling-rate 100 --target-rate 250 --no-filter --normalize none --threads 2");
    ASSERT_EQ(raw.exit_code, 0) << raw.output;
    auto std_prep = run_ecgdist("preprocess --ptbxl " + *dir_ / "ptbxl" + " --out " + filtered_data() +
                                " --sampling-rate 100 --threads 2");
    ASSERT_EQ(std_prep.exit_code, 0) << std_prep.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string raw_data() { return *dir_ / "raw250.h5"; }
  static std::string filtered_data() { return *dir_ / "filtered.h5"; }
  static std::string run_dir(const std::string& name) { return *dir_ / name; }
  static std::string args(const std::string& data) {
    return " --data " + data + " --task superdiagnostic --model tiny --threads 1 --bootstrap 20 --progress off"
           " --profile st-mem --recipe fine-tune --epochs 1 ";  // one short epoch: a few steps
  }
  static nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  }
  // `wfdb`'s one row (predict on record 1's header) has the probabilities of record 1's row in
  // `predictions` (predict on the HDF5 file).
  static void expect_record_one_row(const std::string& predictions, const std::string& wfdb) {
    const auto one = predictions.find("\n1,");
    ASSERT_NE(one, std::string::npos);
    const std::string h5_row = predictions.substr(one + 1, predictions.find('\n', one + 1) - one - 1);
    const auto first = wfdb.find('\n') + 1;
    const std::string wf_row = wfdb.substr(first, wfdb.find('\n', first) - first);
    EXPECT_EQ(wf_row.substr(wf_row.find(',')), h5_row.substr(h5_row.find(','))) << wf_row << " vs " << h5_row;
  }
  static ecg::testing::TempDir* dir_;
};
ecg::testing::TempDir* StMemProfile::dir_ = nullptr;

TEST_F(StMemProfile, RefusesAFilteredNormalisedFileInOneLineNamingFileAndField) {
  auto r = run_ecgdist("train" + args(filtered_data()) + "--out " + run_dir("refused"));
  ASSERT_NE(r.exit_code, 0);
  const std::string needle = filtered_data() + ": --profile st-mem needs";
  const auto at = r.output.find(needle);
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
  EXPECT_NE(line.find("filter: true"), std::string::npos) << line;
  EXPECT_NE(line.find("normalization: record"), std::string::npos) << line;
  EXPECT_NE(line.find("--no-filter --normalize none"), std::string::npos) << line;
}

TEST_F(StMemProfile, RefusesAnotherCropLength) {
  auto r = run_ecgdist("train" + args(raw_data()) + "--crop-length 750 --out " + run_dir("crop"));
  ASSERT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--crop-length 750 is not allowed with --profile st-mem"), std::string::npos) << r.output;
}

TEST_F(StMemProfile, TrainsRecordsTheProfileAndEvaluateReproducesTheTestAuroc) {
  const std::string out = run_dir("run");
  // --batch-size given: the profile's 16 must not override it, and lr follows it (1e-3 x 32 / 256).
  auto r = run_ecgdist("train" + args(raw_data()) + "--batch-size 32 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = read_json(out + "/results.json");
  EXPECT_EQ(j["settings"]["profile"], "st-mem");
  EXPECT_EQ(j["settings"]["batch_size"], 32);
  EXPECT_DOUBLE_EQ(j["settings"]["lr"].get<double>(), 1e-3 * 32 / 256);
  EXPECT_EQ(j["settings"]["epochs"], 1);  // given explicitly
  EXPECT_DOUBLE_EQ(j["settings"]["warmup_fraction"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(j["settings"]["min_lr"].get<double>(), 0.0);
  const auto from_profile = j["settings"]["from_profile"];
  EXPECT_NE(std::find(from_profile.begin(), from_profile.end(), "warmup_fraction=0.3"), from_profile.end())
      << from_profile.dump();
  for (const auto& entry : from_profile) {
    const std::string s = entry.get<std::string>();
    EXPECT_NE(s.rfind("batch_size=", 0), 0u) << "explicit --batch-size overridden: " << s;
    EXPECT_NE(s.rfind("epochs=", 0), 0u) << "explicit --epochs overridden: " << s;
  }
  // The resolved configuration printed by rank 0 shows it too.
  EXPECT_NE(r.output.find("\"from_profile\""), std::string::npos);
  ASSERT_TRUE(j["test"]["macro_auroc"].is_number()) << j.dump();

  // evaluate picks up the profile from best.ckpt and reproduces the run's test metrics.
  auto ev = run_ecgdist("evaluate --data " + raw_data() + " --task superdiagnostic --checkpoint " + out +
                        "/best.ckpt --out " + out + "/eval --bootstrap 20 --threads 1");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  auto m = read_json(out + "/eval/test_metrics.json");
  EXPECT_NEAR(m["macro_auroc"].get<double>(), j["test"]["macro_auroc"].get<double>(), 1e-6);
  EXPECT_EQ(ecg::testing::read_text_file(out + "/eval/test_predictions.csv"),
            ecg::testing::read_text_file(out + "/test_predictions.csv"));

  // evaluate refuses a file the profile cannot use (here: preprocessed differently).
  auto wrong = run_ecgdist("evaluate --data " + filtered_data() + " --task superdiagnostic --checkpoint " + out +
                           "/best.ckpt --out " + out + "/eval2 --threads 1");
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;

  // predict on the HDF5 file scores with the same pipeline: its rows for test records equal the
  // run's test predictions (same probabilities, printed to 6 decimals).
  auto pr = run_ecgdist("predict --checkpoint " + out + "/best.ckpt --input " + raw_data() + " --out " + out +
                        "/pred.csv --threads 1");
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  auto test_rows = ecg::testing::read_text_file(out + "/test_predictions.csv");
  auto pred = ecg::testing::read_text_file(out + "/pred.csv");
  const auto first = test_rows.find('\n') + 1;
  const std::string row = test_rows.substr(first, test_rows.find('\n', first) - first);
  const std::string id = row.substr(0, row.find(','));
  const auto at = pred.find("\n" + id + ",");
  ASSERT_NE(at, std::string::npos) << id;
  const std::string pred_row = pred.substr(at + 1, pred.find('\n', at + 1) - at - 1);
  auto values = [](const std::string& line) {
    std::vector<double> v;
    std::stringstream ss(line.substr(line.find(',') + 1));
    std::string cell;
    while (std::getline(ss, cell, ',')) v.push_back(std::stod(cell));
    return v;
  };
  auto a = values(row), b = values(pred_row);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 2e-6) << k;

  // predict on the WFDB record itself (brought to the checkpoint's 250 Hz unfiltered manifest,
  // then the same crops) gives that record's row of the HDF5 predictions.
  auto wf = run_ecgdist("predict --checkpoint " + out + "/best.ckpt --input " + *dir_ / "ptbxl" +
                        "/records100/00000/00001_lr.hea --out " + out + "/wfdb.csv --threads 1");
  ASSERT_EQ(wf.exit_code, 0) << wf.output;
  auto wfdb = ecg::testing::read_text_file(out + "/wfdb.csv");
  expect_record_one_row(pred, wfdb);
}

TEST_F(StMemProfile, ResumedRunEqualsUninterruptedRun) {
  // Cut mid-epoch (the epoch has > 3 steps of 16): the remaining steps' crops and augmentations
  // must come out the same after the resume.
  const std::string a_args = args(raw_data()) + "--batch-size 16 ";
  const std::string full = run_dir("full");
  auto a = run_ecgdist("train" + a_args + "--out " + full);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_GT(read_json(full + "/results.json")["samples_seen"].get<int64_t>(), 3 * 16);
  const std::string cut = run_dir("cut");
  auto b = run_ecgdist("train" + a_args + "--max-steps 3 --out " + cut);
  ASSERT_EQ(b.exit_code, 75) << b.output;
  auto c = run_ecgdist("train" + a_args + "--resume auto --out " + cut);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(read_json(full + "/results.json")["test"]["macro_auroc"],
            read_json(cut + "/results.json")["test"]["macro_auroc"]);
  EXPECT_EQ(ecg::testing::read_text_file(full + "/test_predictions.csv"),
            ecg::testing::read_text_file(cut + "/test_predictions.csv"));
}

}  // namespace

// A fine-tuned ST-MEM saved by ST-MEM's own code (torch.save, no metadata): refused until its
// pipeline is named, then scored exactly as ST-MEM's evaluation scores it (scipy filters,
// standardisation, the published ViT with its own head: tests/trainer/finetune/
// stmem_eval_reference.py), by evaluate and by predict on the file and on a record.
TEST_F(StMemProfile, StMemsOwnTorchSaveModelIsScoredAsStMemScoresItOnceTheProfileIsNamed) {
  const std::string out = run_dir("foreign");
  fs::create_directories(out);
  const std::string reference = std::string(ECG_PYTHON) + " " + ecg::testing::test_source_dir() +
                                "/trainer/finetune/stmem_eval_reference.py";
  const std::string pth = out + "/stmem_finetuned.pth";
  auto saved = ecg::testing::run_command(reference + " save " + pth + " 5");
  ASSERT_EQ(saved.exit_code, 0) << saved.output;

  const std::string evaluate = "evaluate --data " + raw_data() + " --task superdiagnostic --checkpoint " + pth +
                               " --bootstrap 0 --threads 1 --out ";
  auto refused = run_ecgdist(evaluate + out + "/refused");
  ASSERT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("--checkpoint " + pth + " is a torch.save file that does not say which input "
                                "pipeline its model was trained with; choose one with --profile: 'st-mem'"),
            std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(out + "/refused/test_metrics.json"));
  // --profile st-mem states what the file must be: a filtered, normalised one is refused.
  auto wrong_file = run_ecgdist("evaluate --data " + filtered_data() + " --task superdiagnostic --checkpoint " + pth +
                                " --bootstrap 0 --threads 1 --profile st-mem --out " + out + "/wrong");
  ASSERT_NE(wrong_file.exit_code, 0);
  EXPECT_NE(wrong_file.output.find(filtered_data() + ": --profile st-mem needs"), std::string::npos)
      << wrong_file.output;

  auto ev = run_ecgdist(evaluate + out + "/eval --profile st-mem");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  auto check = ecg::testing::run_command(reference + " score " + pth + " " + raw_data() + " " + out +
                                         "/eval/test_predictions.csv 3");
  ASSERT_EQ(check.exit_code, 0) << check.output;
  std::printf("evaluate --profile st-mem vs ST-MEM's evaluation: %s", check.output.c_str());
  double worst = 1;
  int records = 0;
  ASSERT_EQ(std::sscanf(check.output.c_str(), "records %d max_abs_diff %lf", &records, &worst), 2) << check.output;
  EXPECT_GT(records, 5);
  EXPECT_LE(worst, 1e-4);

  // predict: the classes come from the task (the file names none), the rows are evaluate's.
  const std::string predict = "predict --checkpoint " + pth + " --threads 1 --profile st-mem --task superdiagnostic ";
  auto pr = run_ecgdist(predict + "--input " + raw_data() + " --out " + out + "/pred.csv");
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  const std::string pred = ecg::testing::read_text_file(out + "/pred.csv");
  EXPECT_EQ(pred.rfind("record,CD,HYP,MI,NORM,STTC\n", 0), 0u) << pred.substr(0, 80);
  const std::string tested = ecg::testing::read_text_file(out + "/eval/test_predictions.csv");
  const auto first = tested.find('\n') + 1;
  const std::string row = tested.substr(first, tested.find('\n', first) - first);
  const std::string id = row.substr(0, row.find(','));
  const auto at = pred.find("\n" + id + ",");
  ASSERT_NE(at, std::string::npos) << id;
  EXPECT_EQ(pred.substr(at + 1, row.size()), row);
  // ...and on a WFDB record, brought to 250 Hz unfiltered as ST-MEM reads it: record 1's row.
  auto wf = run_ecgdist(predict + "--data " + raw_data() + " --input " + *dir_ / "ptbxl" +
                        "/records100/00000/00001_lr.hea --out " + out + "/wfdb.csv");
  ASSERT_EQ(wf.exit_code, 0) << wf.output;
  const std::string wfdb = ecg::testing::read_text_file(out + "/wfdb.csv");
  expect_record_one_row(pred, wfdb);
}

// `pretrain --profile st-mem` feeds ST-MEM's pretraining input (filtered, standardised crops of
// the raw file, no augmentation); its encoder records the profile, and `train --init` takes an
// encoder of ours only under the profile it was pretrained with: an encoder pretrained on the raw
// file's unfiltered crops is refused by an st-mem run although both read the same file.
TEST_F(StMemProfile, PretrainingFeedsStMemsCropsAndItsEncoderOnlyTheSamePipeline) {
  // A few steps each: three folds to pretrain on, a third of the training records to fine-tune.
  const std::string pre_args = " --data " + raw_data() + " --model tiny --epochs 1 --batch-size 16 --threads 1"
                               " --folds 1,2,3 --val-folds 10 --progress off --out ";
  auto refused = run_ecgdist("pretrain --profile st-mem" + pre_args.substr(0, pre_args.find(" --data ")) +
                             " --data " + filtered_data() + pre_args.substr(pre_args.find(" --model ")) +
                             run_dir("pre-refused"));
  ASSERT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find(filtered_data() + ": --profile st-mem needs"), std::string::npos) << refused.output;

  const std::string stmem = run_dir("pre-stmem"), plain = run_dir("pre-plain");
  auto a = run_ecgdist("pretrain --profile st-mem" + pre_args + stmem);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto b = run_ecgdist("pretrain" + pre_args + plain);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const auto ra = read_json(stmem + "/results.json"), rb = read_json(plain + "/results.json");
  // The held-out loss is measured on other inputs (filtered, standardised centre crops).
  EXPECT_NE(ra["initial_val_loss"].get<double>(), rb["initial_val_loss"].get<double>());

  const std::string fine = " --data " + raw_data() + " --task superdiagnostic --model tiny --threads 1 --bootstrap 0"
                           " --progress off --recipe fine-tune --epochs 1 --batch-size 16 --train-fraction 0.34"
                           " --eval-crops 1 ";
  auto ok = run_ecgdist("train --profile st-mem" + fine + "--init " + stmem + "/encoder.ckpt --out " +
                        run_dir("ft-stmem"));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("encoder tensors"), std::string::npos) << ok.output;
  auto mixed = run_ecgdist("train --profile st-mem" + fine + "--init " + plain + "/encoder.ckpt --out " +
                           run_dir("ft-mixed"));
  ASSERT_NE(mixed.exit_code, 0);
  EXPECT_NE(mixed.output.find("--init " + plain + "/encoder.ckpt was pretrained with --profile default, but this "
                              "run feeds --profile st-mem"), std::string::npos) << mixed.output;
  auto other = run_ecgdist("train" + fine + "--init " + stmem + "/encoder.ckpt --out " + run_dir("ft-other"));
  ASSERT_NE(other.exit_code, 0);
  EXPECT_NE(other.output.find("was pretrained with --profile st-mem, but this run feeds --profile default"),
            std::string::npos) << other.output;
}
