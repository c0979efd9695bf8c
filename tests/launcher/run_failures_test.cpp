// How `ecgdist` fails at the run level, through the binary: a full disk (checkpoint, CSV/JSON
// and HDF5 writers), a bad input that must not leave a run folder behind, `--bootstrap 0`, the
// user-facing error line, out-of-range folds and non-finite signals in an HDF5 input, NaN in a
// WFDB record, and `predict` on a record sampled at another rate than the checkpoint's data.
// Each failure: exit != 0, exactly one error line naming the file and the field or limit, no
// temp file left, nothing complete clobbered.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using ecg::testing::read_text_file;
using ecg::testing::run_command;
using ecg::testing::run_ecgdist;

namespace {

std::vector<std::string> error_lines(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find("error:") != std::string::npos) out.push_back(line);
  }
  return out;
}

// Every file under `dir` whose name holds ".tmp" (the atomic writers' temp names).
std::vector<std::string> temp_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().filename().string().find(".tmp") != std::string::npos) out.push_back(it->path().string());
  }
  return out;
}

// A 3 MB tmpfs, filled up to `free_kb` kilobytes: a full disk without touching the real one.
class FullDisk {
 public:
  FullDisk(const std::string& dir, int free_kb) : dir_(dir) {
    fs::create_directories(dir_);
    mounted_ = run_command("mount -t tmpfs -o size=3M tmpfs '" + dir_ + "'").exit_code == 0;
    if (mounted_) {
      run_command("dd if=/dev/zero of='" + dir_ + "/filler' bs=1k count=" + std::to_string(3072 - free_kb));
    }
  }
  ~FullDisk() {
    if (mounted_) run_command("umount '" + dir_ + "' || umount -l '" + dir_ + "'");
  }
  bool mounted() const { return mounted_; }
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

class RunFailures : public ::testing::Test {
 protected:
  // One synthetic PTB-XL (both rates), its 100 Hz HDF5 and one tiny trained run with
  // --bootstrap 0, shared by the suite.
  static void SetUpTestSuite() {
    dir_ = new ecg::testing::TempDir();
    auto synth = run_ecgdist("synth --out " + *dir_ / "ptbxl" + " --records 200 --sampling-rate both --seed 3");
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    auto prep = run_ecgdist("preprocess --ptbxl " + *dir_ / "ptbxl" + " --out " + data() +
                            " --sampling-rate 100 --threads 2");
    ASSERT_EQ(prep.exit_code, 0) << prep.output;
  }
  // The trained run, made on first use: CTest runs each test in its own process, so a run trained
  // in SetUpTestSuite would be trained again for every test, most of which never read it.
  static const ecg::testing::CommandResult& trained() {
    if (train_ == nullptr) {
      train_ = new ecg::testing::CommandResult(
          run_ecgdist("train" + train_args() + "--bootstrap 0 --out " + *dir_ / "run0"));
    }
    return *train_;
  }
  static void TearDownTestSuite() {
    delete train_;
    delete dir_;
    train_ = nullptr;
    dir_ = nullptr;
  }
  static std::string data() { return *dir_ / "ptbxl.h5"; }
  // The trained run's folder (trained now if it was not yet); fails the test if training failed.
  static std::string run_dir() {
    EXPECT_EQ(trained().exit_code, 0) << trained().output;
    return *dir_ / "run0";
  }
  static std::string train_args() {
    return " --data " + data() + " --task superdiagnostic --model tiny --batch-size 16 --threads 1"
           " --eval-crops 1 --crop-length 750 --progress off --recipe fine-tune --epochs 1 ";
  }
  // A copy of the HDF5 file changed by a few lines of h5py (`f` is the open file).
  static std::string altered_copy(const std::string& name, const std::string& python) {
    const std::string path = *dir_ / name;
    fs::copy_file(data(), path, fs::copy_options::overwrite_existing);
    auto r = ecg::testing::run_python("import h5py, numpy as np\nf = h5py.File('" + path + "', 'r+')\n" + python +
                                      "\nf.close()\n");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return path;
  }
  static ecg::testing::TempDir* dir_;
  static ecg::testing::CommandResult* train_;
};
ecg::testing::TempDir* RunFailures::dir_ = nullptr;
ecg::testing::CommandResult* RunFailures::train_ = nullptr;

TEST_F(RunFailures, FullDiskDuringTrainingIsOneLineAndLeavesNoTempFileNorEmptyRunFolder) {
  FullDisk disk(*dir_ / "full-train", 64);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string out = disk / "run";
  // --max-steps 1: the step checkpoint (model + optimizer state) is written after one step.
  auto r = run_ecgdist("train" + train_args() + "--bootstrap 0 --max-steps 1 --out " + out);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 134) << "aborted instead of failing:\n" << r.output;
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_EQ(errors[0].rfind("ecgdist: error: " + out + "/", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find("no space left on device while writing checkpoint"), std::string::npos) << errors[0];
  EXPECT_TRUE(temp_files(disk / "").empty());
  // The run created the folder and wrote no file into it: it is gone again.
  EXPECT_FALSE(fs::exists(out)) << "the failed run left its folder";
}

TEST_F(RunFailures, FullDiskKeepsThePreviousCompleteCheckpointAndTheUsersFolder) {
  FullDisk disk(*dir_ / "full-keep", 64);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string out = disk / "run";
  const std::string step1 = out + "/checkpoints/step-000000001.ckpt";
  fs::create_directories(out + "/checkpoints");
  ecg::testing::write_text_file(step1, "previous complete checkpoint");
  ecg::testing::write_text_file(out + "/notes.txt", "user content");
  auto r = run_ecgdist("train" + train_args() + "--bootstrap 0 --max-steps 1 --out " + out);
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_EQ(errors[0], "ecgdist: error: " + step1 + ": no space left on device while writing checkpoint");
  EXPECT_EQ(read_text_file(step1), "previous complete checkpoint");
  EXPECT_EQ(read_text_file(out + "/notes.txt"), "user content");
  EXPECT_TRUE(temp_files(disk / "").empty());
}

TEST_F(RunFailures, FullDiskDuringPreprocessLeavesNoPartialHdf5) {
  FullDisk disk(*dir_ / "full-prep", 200);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string out = disk / "ptbxl.h5";
  ecg::testing::write_text_file(out, "previous");
  auto r = run_ecgdist("preprocess --ptbxl " + *dir_ / "ptbxl" + " --out " + out + " --sampling-rate 100 --threads 2");
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_EQ(errors[0].rfind("ecgdist: error: " + out + ": no space left on device while writing HDF5", 0), 0u)
      << errors[0];
  EXPECT_EQ(read_text_file(out), "previous");
  EXPECT_TRUE(temp_files(disk / "").empty());
}

TEST_F(RunFailures, FullDiskForPredictionsAndTables) {
  FullDisk disk(*dir_ / "full-csv", 4);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string out = disk / "pred.csv";
  auto r = run_ecgdist("predict --checkpoint " + run_dir() + "/best.ckpt --input " + data() + " --out " + out +
                       " --threads 1 --eval-crops 1");
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_EQ(errors[0], "ecgdist: error: " + out + ": no space left on device while writing predictions CSV");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temp_files(disk / "").empty());
}

TEST_F(RunFailures, BadInputLeavesNoRunFolderAndNeverTouchesAnExistingOne) {
  const std::string out = *dir_ / "never-created";
  auto r = run_ecgdist("train --data " + *dir_ / "missing.h5" + " --model tiny --threads 1 --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(error_lines(r.output).size(), 1u) << r.output;
  EXPECT_FALSE(fs::exists(out)) << r.output;

  // An existing (empty) folder is the user's: it stays.
  const std::string mine = *dir_ / "users-folder";
  fs::create_directories(mine);
  r = run_ecgdist("train --data " + *dir_ / "missing.h5" + " --model tiny --threads 1 --out " + mine);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(fs::is_directory(mine));
}

// Issue 23: the refusal named `--comm-backend`, a flag that does not exist.
TEST_F(RunFailures, NcclOnTheCpuIsRefusedNamingTheRealFlags) {
  for (const char* command : {"train", "pretrain"}) {
    const std::string out = *dir_ / (std::string("nccl-cpu-") + command);
    auto r = run_ecgdist(std::string(command) + " --data " + data() + " --model tiny --threads 1 --backend nccl "
                         "--device cpu --out " + out);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    const auto errors = error_lines(r.output);
    ASSERT_EQ(errors.size(), 1u) << r.output;
    EXPECT_NE(errors[0].find("--backend nccl needs --device cuda"), std::string::npos) << errors[0];
    EXPECT_EQ(r.output.find("--comm-backend"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST_F(RunFailures, ErrorLineHasNoBuildPathUnlessDebugLogging) {
  auto r = run_ecgdist("inspect " + *dir_ / "missing.h5");
  EXPECT_EQ(r.exit_code, 1);
  auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_EQ(errors[0].rfind("ecgdist: error: ", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find("missing.h5"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[0].find(".cpp:"), std::string::npos) << errors[0];

  r = run_command("ECGDIST_LOG_LEVEL=debug " + std::string(ECGDIST_BIN) + " inspect " + *dir_ / "missing.h5");
  errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find(".cpp:"), std::string::npos) << "debug level names the source: " << errors[0];
}

TEST_F(RunFailures, BootstrapZeroMeansNoCisEverywhere) {
  // train
  std::ifstream in(run_dir() + "/results.json");
  const auto results = nlohmann::json::parse(in);
  EXPECT_TRUE(results["test"]["macro_auroc"].is_number());
  EXPECT_TRUE(results["test"]["macro_auroc_ci"].is_null());
  EXPECT_TRUE(results["test"]["macro_auprc_ci"].is_null());
  EXPECT_EQ(results["test"]["bootstrap"]["resamples"], 0);
  EXPECT_NE(trained().output.find("[CI n/a]"), std::string::npos) << trained().output;
  EXPECT_EQ(trained().output.find("nan"), std::string::npos) << trained().output;

  // evaluate
  auto ev = run_ecgdist("evaluate --data " + data() + " --task superdiagnostic --checkpoint " + run_dir() +
                        "/best.ckpt --out " + *dir_ / "eval0" + " --eval-crops 1 --bootstrap 0 --threads 1");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  std::ifstream min(*dir_ / "eval0/test_metrics.json");
  const auto metrics = nlohmann::json::parse(min);
  EXPECT_TRUE(metrics["macro_auroc_ci"].is_null());
  EXPECT_NE(ev.output.find("[CI n/a]"), std::string::npos) << ev.output;
  EXPECT_EQ(ev.output.find("nan"), std::string::npos) << ev.output;

  // compare (the run against itself is enough for the format)
  auto cmp = run_ecgdist("compare --data " + data() + " " + run_dir() + " " + run_dir() +
                         " --labels a,b --bootstrap 0 --json " + *dir_ / "cmp0.json");
  ASSERT_EQ(cmp.exit_code, 0) << cmp.output;
  EXPECT_NE(cmp.output.find("[CI n/a]"), std::string::npos) << cmp.output;
  EXPECT_EQ(cmp.output.find("nan"), std::string::npos) << cmp.output;
  std::ifstream cin(*dir_ / "cmp0.json");
  const auto cmp_json = nlohmann::json::parse(cin);
  const auto& diff = cmp_json["runs"][1]["vs_baseline"]["auroc_difference"];
  EXPECT_TRUE(diff["ci"].is_null()) << diff.dump();
  EXPECT_TRUE(diff["p_value"].is_null()) << diff.dump();
}

TEST_F(RunFailures, FoldOutsideOneToTenIsRefusedNamingTheRecord) {
  const std::string bad = altered_copy("bad-fold.h5", "f['fold'][3] = 11\nprint(int(f['ecg_id'][3]))");
  auto r = run_ecgdist("train" + std::string(" --data ") + bad +
                       " --task superdiagnostic --model tiny --threads 1 --out " + *dir_ / "fold-run");
  EXPECT_NE(r.exit_code, 0);
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find(bad + ": dataset /fold: record 3 (ecg_id 4) has fold 11, outside 1..10"),
            std::string::npos)
      << errors[0];
  EXPECT_FALSE(fs::exists(*dir_ / "fold-run"));
}

TEST_F(RunFailures, NonFiniteSignalIsRefusedWhenReadNamingTheRecord) {
  // Every training-fold record gets one NaN (lead III, sample 100): whichever batch is read first
  // must stop the run, naming its record.
  const std::string bad = altered_copy(
      "nan-signal.h5",
      "folds = f['fold'][:]\n"
      "for i in range(len(folds)):\n"
      "    if folds[i] <= 8:\n"
      "        s = f['signals'][i]\n        s[2, 100] = np.nan\n        f['signals'][i] = s\n");
  auto r = run_ecgdist("train --data " + bad + " --task superdiagnostic --model tiny --batch-size 16 --threads 1"
                       " --recipe fine-tune --epochs 1 --progress off --out " + *dir_ / "nan-run");
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  const std::string head = "ecgdist: error: " + bad + ": dataset '/signals': record ";
  ASSERT_EQ(errors[0].rfind(head, 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find(") has a non-finite value (nan) in lead III at sample 100"), std::string::npos)
      << errors[0];
  // "record <i> (ecg_id <id>)": synthetic ecg_ids are 1..N in file order.
  int64_t index = -1, ecg_id = -1;
  ASSERT_EQ(std::sscanf(errors[0].c_str() + head.size(), "%ld (ecg_id %ld)", &index, &ecg_id), 2) << errors[0];
  EXPECT_EQ(ecg_id, index + 1) << errors[0];
  EXPECT_EQ(r.output.find("non-finite loss"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(*dir_ / "nan-run"));
}

TEST_F(RunFailures, PreprocessRefusesNanInAWfdbRecord) {
  const std::string src = *dir_ / "nan-wfdb";
  fs::copy(*dir_ / "ptbxl", src, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const std::string hea = src + "/records100/00000/00007_lr.hea";
  // Lead I's ADC gain becomes NaN (every physical value of that lead would be NaN): the WFDB
  // reader refuses the header field before any sample is converted.
  auto sed = run_command("sed -i '2s/ 1000\\(\\.0\\)\\?\\([(/]\\)/ nan\\2/' '" + hea + "' && sed -n 2p '" + hea + "'");
  ASSERT_NE(sed.output.find(" nan"), std::string::npos) << sed.output;
  const std::string out = *dir_ / "nan-wfdb.h5";
  auto r = run_ecgdist("preprocess --ptbxl " + src + " --out " + out + " --sampling-rate 100 --threads 2");
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find("00007_lr"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("gain 'nan'"), std::string::npos) << errors[0];
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temp_files(*dir_ / "").empty());
}

TEST_F(RunFailures, PredictRefusesARecordSampledAtAnotherRateThanTheCheckpointsData) {
  const std::string ckpt = run_dir() + "/best.ckpt";
  // Same rate as the training records (100 Hz): scored.
  auto same = run_ecgdist("predict --checkpoint " + ckpt + " --input " + *dir_ / "ptbxl/records100/00000/00001_lr.hea" +
                          " --out " + *dir_ / "pred100.csv --threads 1");
  ASSERT_EQ(same.exit_code, 0) << same.output;

  const std::string hr = *dir_ / "ptbxl/records500/00000/00001_hr.hea";
  auto r = run_ecgdist("predict --checkpoint " + ckpt + " --input " + hr + " --out " + *dir_ / "pred500.csv --threads 1");
  EXPECT_NE(r.exit_code, 0);
  const auto errors = error_lines(r.output);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_NE(errors[0].find("recorded at 500 Hz"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("trained on 100 Hz records"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("--allow-rate-mismatch"), std::string::npos) << errors[0];
  EXPECT_FALSE(fs::exists(*dir_ / "pred500.csv"));

  auto allowed = run_ecgdist("predict --checkpoint " + ckpt + " --input " + hr + " --out " + *dir_ / "pred500.csv" +
                             " --threads 1 --allow-rate-mismatch");
  ASSERT_EQ(allowed.exit_code, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("warning: --input " + hr + ": recorded at 500 Hz"), std::string::npos)
      << allowed.output;
  EXPECT_TRUE(fs::exists(*dir_ / "pred500.csv"));
}

}  // namespace
