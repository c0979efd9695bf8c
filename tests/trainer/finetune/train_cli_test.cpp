// End-to-end tests of `ecgdist train` / `evaluate` / `predict` / `export` on a small synthetic
// PTB-XL: the recipes' outputs (results.json's test_data checked by `compare`), exported models
// checked against their data like checkpoints, the frozen encoder of stage 1, exact resume, preemption by
// signal under mpirun, and the non-finite-loss stop. One synthetic dataset is shared by the
// suite (generation and preprocessing take a few seconds).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "data/dataset_info.h"
#include "trainer/engine/checkpoint_files.h"
#include "eval/run_comparison.h"
#include "eval/run_outputs.h"
#include "model/checkpoint.h"
#include "model/precision.h"
#include "model/torch_save_writer.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using ecg::testing::run_command;
using ecg::testing::run_ecgdist;

namespace {

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ecg::testing::TempDir();
    std::string why;
    ASSERT_EQ(ecg::testing::make_synthetic_h5(*dir_, "ptbxl", 200, 3, &why), data()) << why;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string data() { return *dir_ / "ptbxl.h5"; }
  static std::string run_dir(const std::string& name) { return *dir_ / name; }
  // Small, fast settings shared by the tests (tiny model, 1 thread, little bootstrap cost). 750-sample
  // crops (10 patches a lead): a third of the default's tokens, so each run costs ~1/3 — these tests
  // check the CLI's contracts (outputs, frozen encoder, exact resume, preemption), not the crop length.
  static std::string common_args() {
    return " --data " + data() + " --task superdiagnostic --model tiny --batch-size 16 --threads 1"
           " --crop-length 750 --bootstrap 50 --eval-crops 2 --progress off ";
  }
  static nlohmann::json results(const std::string& run) {
    std::ifstream in(fs::path(run) / "results.json");
    return nlohmann::json::parse(in);
  }
  static ecg::testing::TempDir* dir_;
};
ecg::testing::TempDir* TrainCli::dir_ = nullptr;

TEST_F(TrainCli, PostTrainWritesTheOutputContract) {
  const std::string out = run_dir("post");
  auto r = run_ecgdist("train" + common_args() + "--recipe post-train --lp-epochs 1 --epochs 1 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = results(out);
  EXPECT_EQ(j["task"], "superdiagnostic");
  EXPECT_EQ(j["recipe"], "post-train");
  EXPECT_EQ(j["settings"]["drop_path"], 0.1);  // post-train's documented default
  EXPECT_TRUE(j["test"]["macro_auroc"].is_number());
  EXPECT_TRUE(j["test"]["macro_auroc_ci"].is_array() || j["test"]["macro_auroc_ci"].is_object());
  EXPECT_EQ(j["best_stage"], 2);
  EXPECT_EQ(j["best_epoch"], 1);
  EXPECT_FALSE(j["test"]["per_label"].empty());
  EXPECT_GT(j["samples_per_second"].get<double>(), 0);
  // history.csv: one row per epoch of each stage.
  auto history = ecg::testing::read_text_file(out + "/history.csv");
  EXPECT_EQ(history.rfind("epoch,stage,train_loss,val_macro_auroc,val_macro_auprc,lr,seconds\n", 0), 0u);
  EXPECT_NE(history.find("\n1,1,"), std::string::npos);
  EXPECT_NE(history.find("\n1,2,"), std::string::npos);
  // test_predictions.csv: ecg_id + one column per class, one row per labelled test record.
  auto preds = ecg::testing::read_text_file(out + "/test_predictions.csv");
  const auto header = preds.substr(0, preds.find('\n'));
  EXPECT_EQ(header.rfind("ecg_id,", 0), 0u);
  const int64_t rows = std::count(preds.begin(), preds.end(), '\n') - 1;
  EXPECT_EQ(rows, j["test"]["records"].get<int64_t>());
  EXPECT_TRUE(fs::exists(out + "/best.ckpt"));
  EXPECT_FALSE(ecg::engine::newest_checkpoint(out).empty());

  // test_data: the file and the hash of the labels the run was tested on, as `compare` recomputes
  // it from the file; a copy with one test label flipped is refused.
  const auto& tested = j["test_data"];
  EXPECT_EQ(tested["path"], data());
  EXPECT_EQ(tested["records"], j["test"]["records"]);
  const auto run = ecg::eval::read_run(out);
  const auto info = ecg::data::read_dataset_info(data());
  const auto labels = ecg::data::read_labels(data(), "superdiagnostic");
  std::vector<float> targets;
  int64_t first_row = -1;
  for (int64_t id : run.ecg_ids) {
    const int64_t row = std::find(info.ecg_id.begin(), info.ecg_id.end(), id) - info.ecg_id.begin();
    if (first_row < 0) first_row = row;
    for (size_t k = 0; k < labels.classes.size(); ++k) targets.push_back(labels.at(row, k) ? 1.f : 0.f);
  }
  EXPECT_EQ(tested["labels_fnv1a64"], ecg::eval::test_labels_fnv1a64(run.ecg_ids, labels.classes, targets));
  auto same = run_ecgdist("compare --data " + data() + " " + out + " " + out + " --bootstrap 10");
  EXPECT_EQ(same.exit_code, 0) << same.output;
  ecg::testing::copy_h5_with_flipped_label(data(), out + "/relabelled.h5", "superdiagnostic", first_row, 0);
  auto relabelled = run_ecgdist("compare --data " + out + "/relabelled.h5 " + out + " " + out + " --bootstrap 10");
  EXPECT_NE(relabelled.exit_code, 0);
  EXPECT_NE(relabelled.output.find("test_data.labels_fnv1a64"), std::string::npos) << relabelled.output;

  // evaluate with the best checkpoint reproduces the run's test metrics.
  auto ev = run_ecgdist("evaluate --data " + data() + " --task superdiagnostic --checkpoint " + out +
                        "/best.ckpt --out " + out + "/eval --eval-crops 2 --bootstrap 50 --threads 1");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  std::ifstream in(out + "/eval/test_metrics.json");
  auto m = nlohmann::json::parse(in);
  EXPECT_NEAR(m["macro_auroc"].get<double>(), j["test"]["macro_auroc"].get<double>(), 1e-6);

  // predict on a preprocessed file: one row per record, one column per class.
  auto pr = run_ecgdist("predict --checkpoint " + out + "/best.ckpt --input " + data() + " --out " + out +
                        "/pred.csv --threads 1");
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  auto pred = ecg::testing::read_text_file(out + "/pred.csv");
  EXPECT_EQ(std::count(pred.begin(), pred.end(), '\n'), 201);

  // evaluate refuses a checkpoint for another task.
  auto wrong = run_ecgdist("evaluate --data " + data() + " --task rhythm --checkpoint " + out +
                           "/best.ckpt --out " + out + "/eval2 --threads 1");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.output.find("superdiagnostic"), std::string::npos) << wrong.output;
}

// An exported .pt carries its checkpoint's metadata, so predict / evaluate check it against their
// data like the checkpoint; a file without metadata meets an HDF5 file only with the user's word.
TEST_F(TrainCli, ExportedModelIsCheckedLikeItsCheckpoint) {
  const std::string out = run_dir("exported");
  auto t = run_ecgdist("train" + common_args() + "--recipe fine-tune --epochs 1 --out " + out);
  ASSERT_EQ(t.exit_code, 0) << t.output;
  auto e = run_ecgdist("export --checkpoint " + out + "/best.ckpt --out " + out + "/model.pt");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  // Same records, other normalisation: the model's input shape fits, its preprocessing does not.
  const std::string other = out + "/unnormalised.h5";
  auto prep = run_ecgdist("preprocess --ptbxl " + *dir_ / "ptbxl" + " --out " + other +
                          " --sampling-rate 100 --normalize none --threads 2");
  ASSERT_EQ(prep.exit_code, 0) << prep.output;

  // The right file: the export scores exactly as its checkpoint, with the class names.
  for (const char* model : {"best.ckpt", "model.pt"}) {
    auto pr = run_ecgdist("predict --checkpoint " + out + "/" + model + " --input " + data() + " --out " + out +
                          "/" + model + ".csv --threads 1 --eval-crops 1");
    ASSERT_EQ(pr.exit_code, 0) << pr.output;
  }
  EXPECT_EQ(ecg::testing::read_text_file(out + "/model.pt.csv"), ecg::testing::read_text_file(out + "/best.ckpt.csv"));
  // The other file: refused by predict and evaluate, as best.ckpt is.
  auto pr = run_ecgdist("predict --checkpoint " + out + "/model.pt --input " + other + " --out " + out +
                        "/other.csv --threads 1 --eval-crops 1");
  EXPECT_NE(pr.exit_code, 0);
  EXPECT_NE(pr.output.find(out + "/model.pt was trained on data prepared differently from " + other),
            std::string::npos) << pr.output;
  EXPECT_FALSE(fs::exists(out + "/other.csv"));
  auto ev = run_ecgdist("evaluate --data " + other + " --checkpoint " + out + "/model.pt --out " + out +
                        "/eval-other --threads 1 --eval-crops 1 --bootstrap 0");
  EXPECT_NE(ev.exit_code, 0);
  EXPECT_NE(ev.output.find("prepared differently from " + other), std::string::npos) << ev.output;

  // Without the metadata (a foreign torch.save file): refused on an HDF5 file unless stated.
  const std::string bare = out + "/bare.pt";
  ecg::model::NamedTensors tensors;
  for (const auto& [name, tensor] : ecg::model::load_any_checkpoint(out + "/model.pt").state) {
    tensors.emplace_back(name, tensor);
  }
  ecg::model::write_torch_save(bare, tensors);
  // It says neither its input pipeline nor its classes: both must be named.
  auto no_profile = run_ecgdist("predict --checkpoint " + bare + " --input " + data() + " --out " + out +
                                "/bare.csv --threads 1 --eval-crops 1 --task superdiagnostic");
  EXPECT_NE(no_profile.exit_code, 0);
  EXPECT_NE(no_profile.output.find("--checkpoint " + bare + " is a torch.save file that does not say which input "
                                   "pipeline"), std::string::npos) << no_profile.output;
  EXPECT_NE(no_profile.output.find("choose one with --profile: 'st-mem'"), std::string::npos) << no_profile.output;
  auto no_classes = run_ecgdist("predict --checkpoint " + bare + " --input " + data() + " --out " + out +
                                "/bare.csv --threads 1 --eval-crops 1 --profile default --trust-data-preprocessing");
  EXPECT_NE(no_classes.exit_code, 0);
  EXPECT_NE(no_classes.output.find("--checkpoint " + bare + " does not name its 5 outputs"), std::string::npos)
      << no_classes.output;
  auto too_few = run_ecgdist("predict --checkpoint " + bare + " --input " + data() + " --out " + out +
                             "/bare.csv --threads 1 --eval-crops 1 --profile default --classes A,B");
  EXPECT_NE(too_few.exit_code, 0);
  EXPECT_NE(too_few.output.find("--classes names 2 classes [A,B], but --checkpoint " + bare + " has 5 outputs"),
            std::string::npos) << too_few.output;
  // Ours names its classes; another list is refused naming both.
  auto other_names = run_ecgdist("predict --checkpoint " + out + "/model.pt --input " + data() + " --out " + out +
                                 "/bare.csv --threads 1 --eval-crops 1 --task rhythm");
  EXPECT_NE(other_names.exit_code, 0);
  EXPECT_NE(other_names.output.find("but --checkpoint " + out + "/model.pt was trained for classes [CD,HYP,MI,NORM,STTC]"),
            std::string::npos) << other_names.output;
  EXPECT_FALSE(fs::exists(out + "/bare.csv"));
  const std::string predict_bare = "predict --checkpoint " + bare + " --input " + data() + " --out " + out +
                                   "/bare.csv --threads 1 --eval-crops 1 --profile default --task superdiagnostic";
  auto refused = run_ecgdist(predict_bare);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("--checkpoint " + bare + " records no preprocessing manifest"), std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("--trust-data-preprocessing"), std::string::npos) << refused.output;
  auto trusted = run_ecgdist(predict_bare + " --trust-data-preprocessing");
  EXPECT_EQ(trusted.exit_code, 0) << trusted.output;
  EXPECT_NE(trusted.output.find("records no preprocessing"), std::string::npos) << trusted.output;  // the warning
  // Named after the task's classes (its crop is the model's whole input: it records no --crop-length).
  EXPECT_EQ(ecg::testing::read_text_file(out + "/bare.csv").rfind("record,CD,HYP,MI,NORM,STTC\n", 0), 0u);
  const std::string evaluate_bare = "evaluate --data " + data() + " --checkpoint " + bare + " --out " + out +
                                    "/eval-bare --threads 1 --eval-crops 1 --bootstrap 0 --profile default";
  // Ours records its pipeline: another --profile is refused naming both.
  auto ev_other = run_ecgdist("evaluate --data " + data() + " --checkpoint " + out + "/model.pt --out " + out +
                              "/eval-other-profile --threads 1 --eval-crops 1 --bootstrap 0 --profile st-mem");
  EXPECT_NE(ev_other.exit_code, 0);
  EXPECT_NE(ev_other.output.find("--profile st-mem, but --checkpoint " + out + "/model.pt was trained with "
                                 "--profile default"), std::string::npos) << ev_other.output;
  auto ev_refused = run_ecgdist(evaluate_bare);
  EXPECT_NE(ev_refused.exit_code, 0);
  EXPECT_NE(ev_refused.output.find("--trust-data-preprocessing"), std::string::npos) << ev_refused.output;
  auto ev_trusted = run_ecgdist(evaluate_bare + " --trust-data-preprocessing");
  EXPECT_EQ(ev_trusted.exit_code, 0) << ev_trusted.output;
}

// --init keeps the file's head only when it is the task's: with 0 epochs the run tests its initial
// model, so a kept head reproduces the file's test AUROC exactly and a new one (another seed than
// the first run's, whose initial head may be its best model) does not.
TEST_F(TrainCli, InitKeepsTheHeadOnlyWhenItsClassesAreTheTasks) {
  const std::string first = run_dir("head-first");
  auto a = run_ecgdist("train" + common_args() + "--recipe fine-tune --epochs 1 --out " + first);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const double tested = results(first)["test"]["macro_auroc"].get<double>();
  auto again = [&](const std::string& name, const std::string& init, const std::string& extra) {
    return run_ecgdist("train" + common_args() + "--recipe fine-tune --epochs 0 --seed 7 --init " + init + " " + extra +
                       " --out " + run_dir(name));
  };
  auto kept = again("head-kept", first + "/best.ckpt", "");
  ASSERT_EQ(kept.exit_code, 0) << kept.output;
  EXPECT_NE(kept.output.find("its head too (its classes are the task's)"), std::string::npos) << kept.output;
  EXPECT_DOUBLE_EQ(results(run_dir("head-kept"))["test"]["macro_auroc"].get<double>(), tested);
  auto fresh = again("head-new", first + "/best.ckpt", "--init-head new");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_NE(fresh.output.find("its head was replaced"), std::string::npos) << fresh.output;
  EXPECT_NE(results(run_dir("head-new"))["test"]["macro_auroc"].get<double>(), tested);

  // A torch.save file names no classes: a new head unless the user keeps it, and then the count
  // must fit.
  const std::string bare = run_dir("head-first") + "/bare.pt";
  ecg::model::NamedTensors tensors;
  for (const auto& [name, tensor] : ecg::model::load_any_checkpoint(first + "/best.ckpt").state) {
    tensors.emplace_back(name, tensor);
  }
  ecg::model::write_torch_save(bare, tensors);
  auto foreign = again("head-foreign", bare, "");
  ASSERT_EQ(foreign.exit_code, 0) << foreign.output;
  EXPECT_NE(foreign.output.find("its 5-output head names no classes; a new head is trained"), std::string::npos)
      << foreign.output;
  auto foreign_kept = again("head-foreign-kept", bare, "--init-head keep");
  ASSERT_EQ(foreign_kept.exit_code, 0) << foreign_kept.output;
  EXPECT_DOUBLE_EQ(results(run_dir("head-foreign-kept"))["test"]["macro_auroc"].get<double>(), tested);

  // Another task's classes: `keep` is refused naming both lists; `auto` trains a new head.
  std::string rhythm_args = common_args();
  rhythm_args.replace(rhythm_args.find("--task superdiagnostic"), 22, "--task rhythm");
  auto other = run_ecgdist("train" + rhythm_args + "--recipe fine-tune --epochs 0 --init " + first +
                           "/best.ckpt --init-head keep --out " + run_dir("head-other"));
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.output.find("--init-head keep, but --init " + first + "/best.ckpt was trained for classes "
                              "[CD,HYP,MI,NORM,STTC], not task rhythm's ["), std::string::npos) << other.output;
  auto foreign_other = run_ecgdist("train" + rhythm_args + "--recipe fine-tune --epochs 0 --init " +
                                   bare + " --init-head keep --out " + run_dir("head-foreign-other"));
  EXPECT_NE(foreign_other.exit_code, 0);
  EXPECT_NE(foreign_other.output.find("--init-head keep, but --init " + bare + " has 5 outputs and task rhythm has"),
            std::string::npos) << foreign_other.output;
}

TEST_F(TrainCli, LinearProbingLeavesTheEncoderBitIdentical) {
  const std::string first = run_dir("lp-init");
  auto a = run_ecgdist("train" + common_args() + "--recipe fine-tune --epochs 1 --out " + first);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const std::string lp = run_dir("lp");
  auto b = run_ecgdist("train" + common_args() + "--recipe linear-probe --epochs 2 --lp-lr 0.01 --weight-decay 0.5 --init " +
                       first + "/best.ckpt --out " + lp);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  auto before = ecg::model::load_checkpoint(first + "/best.ckpt").state;
  auto after = ecg::model::load_checkpoint(lp + "/best.ckpt").state;
  int compared = 0;
  for (const auto& [name, tensor] : after) {
    if (name.rfind("head.", 0) == 0) {
      continue;
    }
    ASSERT_TRUE(before.count(name)) << name;
    EXPECT_TRUE(torch::equal(before.at(name), tensor)) << name << " changed during linear probing";
    ++compared;
  }
  EXPECT_GT(compared, 40);
  // ...while the head did train.
  EXPECT_FALSE(torch::equal(before.at("head.weight"), after.at("head.weight")));
}

TEST_F(TrainCli, ResumedRunEqualsUninterruptedRun) {
  const std::string args = common_args() + "--recipe post-train --lp-epochs 1 --epochs 2 --patience 5 ";
  const std::string full = run_dir("full");
  auto a = run_ecgdist("train" + args + "--out " + full);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  // Stop mid-way through stage 2's second epoch (each epoch is 10 steps), then resume.
  const std::string cut = run_dir("cut");
  auto b = run_ecgdist("train" + args + "--max-steps 24 --out " + cut);
  ASSERT_EQ(b.exit_code, 75) << b.output;
  EXPECT_FALSE(fs::exists(cut + "/results.json"));
  // The checkpoint records a best validation model (stage 2's first epoch): without its best.ckpt the
  // resumed run would test another model, so it is refused, naming the file.
  ASSERT_TRUE(fs::exists(cut + "/best.ckpt"));
  fs::rename(cut + "/best.ckpt", cut + "/best.ckpt.away");
  auto refused = run_ecgdist("train" + args + "--resume auto --out " + cut);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("best.ckpt, which does not exist"), std::string::npos) << refused.output;
  fs::rename(cut + "/best.ckpt.away", cut + "/best.ckpt");
  auto c = run_ecgdist("train" + args + "--resume auto --out " + cut);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  auto x = results(full);
  auto y = results(cut);
  EXPECT_EQ(x["test"]["macro_auroc"], y["test"]["macro_auroc"]);
  EXPECT_EQ(x["test"]["macro_auprc"], y["test"]["macro_auprc"]);
  EXPECT_EQ(x["test"]["macro_auroc_ci"], y["test"]["macro_auroc_ci"]);
  EXPECT_EQ(x["test"]["per_label"], y["test"]["per_label"]);
  EXPECT_EQ(x["best_epoch"], y["best_epoch"]);
  EXPECT_EQ(ecg::testing::read_text_file(full + "/test_predictions.csv"),
            ecg::testing::read_text_file(cut + "/test_predictions.csv"));
}

TEST_F(TrainCli, TwoRanksMatchOneRankAndResumeAfterUsr1) {
  const std::string args = common_args() + "--recipe fine-tune --epochs 1 ";
  const std::string one = run_dir("np1");
  auto a = run_ecgdist("train" + args + "--out " + one);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const std::string two = run_dir("np2");
  auto b = run_command(ecg::testing::mpirun_np2() + ECGDIST_BIN + " train" + args + "--out " + two);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  // Same samples per step, same crops and masks: only the summation order differs.
  EXPECT_NEAR(results(one)["test"]["macro_auroc"].get<double>(),
              results(two)["test"]["macro_auroc"].get<double>(), 2e-3);
  EXPECT_EQ(results(two)["world_size"], 2);
  // rank 0's gradient all-reduce: every step's buckets counted; nothing to reduce on one rank.
  const auto sync = results(two)["gradient_allreduce"];
  EXPECT_EQ(sync["dtype"], "fp32");
  EXPECT_GT(sync["bytes"].get<double>(), 0.0);
  EXPECT_GE(sync["hidden_fraction"].get<double>(), 0.0);
  EXPECT_LE(sync["hidden_fraction"].get<double>(), 1.0);
  EXPECT_EQ(results(one)["gradient_allreduce"]["bytes"], 0);
  EXPECT_TRUE(results(one)["gradient_allreduce"]["hidden_fraction"].is_null());

  // SIGUSR1 to mpirun: forwarded to both ranks, which agree on a step, checkpoint and exit 75.
  const std::string pre = run_dir("preempt");
  const std::string cmd = ecg::testing::mpirun_np2() + ECGDIST_BIN + " train" + common_args() +
                          "--recipe fine-tune --epochs 3 --out " + pre + " > " + pre + ".log 2>&1";
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec env " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Signal once both ranks have installed the handler (rank 0 prints the resolved configuration
  // after that) and training is under way.
  for (int i = 0; i < 1200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (fs::exists(pre + ".log") && ecg::testing::read_text_file(pre + ".log").find("data: {") != std::string::npos) break;
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  kill(pid, SIGUSR1);
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string log = ecg::testing::read_text_file(pre + ".log");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  ASSERT_EQ(WEXITSTATUS(status), 75) << log;
  EXPECT_FALSE(ecg::engine::newest_checkpoint(pre).empty()) << log;
  auto resumed = run_command(ecg::testing::mpirun_np2() + ECGDIST_BIN + " train" + common_args() +
                             "--recipe fine-tune --epochs 3 --resume auto --out " + pre);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  EXPECT_TRUE(fs::exists(pre + "/results.json"));
}

// --lr-horizon 1 with --epochs 2: the cosine reaches --min-lr at the end of epoch 1 and stays, while
// training goes on (the stage length is still --epochs / early stopping).
TEST_F(TrainCli, LrHorizonEndsTheCosineBeforeTheLastEpoch) {
  const std::string out = run_dir("horizon");
  auto r = run_ecgdist("train" + common_args() +
                       "--recipe fine-tune --epochs 2 --lr-horizon 1 --lr 1e-3 --min-lr 1e-6 --warmup-fraction 0 "
                       "--max-steps 12 --out " + out);
  ASSERT_EQ(r.exit_code, 75) << r.output;  // stopped 2 steps into epoch 2
  auto ck = ecg::model::load_checkpoint(ecg::engine::newest_checkpoint(out));
  EXPECT_EQ(ck.meta.at("options").at("lr_horizon"), 1);
  const auto history = ck.meta.at("task_state").at("history");
  ASSERT_GE(history.size(), 1u) << history.dump();
  // Epoch 1's last step is step 9 of a 10-step horizon: just above the floor.
  const double lr1 = history[0].at("lr").get<double>();
  EXPECT_GT(lr1, 1e-6);
  EXPECT_LT(lr1, 1e-4);
  // Continue to the end: epoch 2 runs entirely at the floor.
  auto c = run_ecgdist("train" + common_args() +
                       "--recipe fine-tune --epochs 2 --lr-horizon 1 --lr 1e-3 --min-lr 1e-6 --warmup-fraction 0 "
                       "--resume auto --out " + out);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto csv = ecg::testing::read_text_file(out + "/history.csv");
  EXPECT_NE(csv.find("\n2,2,"), std::string::npos) << csv;
  const auto row2 = csv.substr(csv.find("\n2,2,") + 1);
  // epoch,stage,train_loss,val_macro_auroc,val_macro_auprc,lr,seconds
  std::vector<std::string> cells;
  std::stringstream line(row2.substr(0, row2.find('\n')));
  for (std::string cell; std::getline(line, cell, ',');) cells.push_back(cell);
  ASSERT_EQ(cells.size(), 7u) << row2;
  EXPECT_NEAR(std::stod(cells[5]), 1e-6, 1e-12) << row2;
  EXPECT_EQ(results(out)["settings"]["lr_horizon"], 1);
  auto bad = run_ecgdist("train" + common_args() + "--lr-horizon -1 --out " + run_dir("horizon-bad"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--lr-horizon"), std::string::npos) << bad.output;
}

// Figure 3's curve past the stopping point: with --record-after-stop the run trains and records
// validation up to --epochs, yet tests the model early stopping chose, i.e. exactly what the run
// without the flag tests, and its history up to the stop is that run's history.
TEST_F(TrainCli, RecordAfterStopKeepsTestingTheEarlyStoppedModel) {
  const std::string args = common_args() + "--recipe fine-tune --epochs 6 --patience 1 --lr 3e-3 ";
  auto a = run_ecgdist("train" + args + "--out " + run_dir("stop"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto b = run_ecgdist("train" + args + "--record-after-stop --out " + run_dir("stop-recorded"));
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const auto ja = results(run_dir("stop"));
  const auto jb = results(run_dir("stop-recorded"));
  ASSERT_TRUE(ja["stopped_early"].get<bool>()) << "the settings no longer stop early: " << ja.dump();
  const int stop = ja["early_stop_epoch"].get<int>();
  ASSERT_LT(stop, 6);
  EXPECT_EQ(ja["epochs_run"], stop);
  EXPECT_EQ(jb["early_stop_epoch"], stop);
  EXPECT_EQ(jb["epochs_run"], 6);
  EXPECT_EQ(jb["best_epoch"], ja["best_epoch"]);
  EXPECT_LE(jb["best_epoch"].get<int>(), stop);
  EXPECT_EQ(jb["test"]["macro_auroc"], ja["test"]["macro_auroc"]);
  EXPECT_EQ(jb["test"]["per_label"], ja["test"]["per_label"]);
  EXPECT_EQ(jb["settings"]["record_after_stop"], true);
  const std::string ha = ecg::testing::read_text_file(run_dir("stop") + "/history.csv");
  const std::string hb = ecg::testing::read_text_file(run_dir("stop-recorded") + "/history.csv");
  // Same rows up to the stop (the seconds column differs), then more.
  auto without_seconds = [](const std::string& csv) {
    std::vector<std::string> rows;
    std::stringstream in(csv);
    for (std::string line; std::getline(in, line);) rows.push_back(line.substr(0, line.rfind(',')));
    return rows;
  };
  const auto ra = without_seconds(ha);
  const auto rb = without_seconds(hb);
  ASSERT_EQ(ra.size(), static_cast<size_t>(stop) + 1) << ha;
  ASSERT_EQ(rb.size(), 7u) << hb;
  EXPECT_EQ(std::vector<std::string>(rb.begin(), rb.begin() + stop + 1), ra);
}

TEST_F(TrainCli, NonFiniteLossStopsNamingStepAndRank) {
  const std::string out = run_dir("nan");
  auto r = run_ecgdist("train" + common_args() + "--recipe fine-tune --epochs 2 --lr 1e30 --warmup-fraction 0 --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("non-finite loss at step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank(s) 0"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out + "/results.json"));
}

TEST_F(TrainCli, BadInputIsAOneLineError) {
  auto r = run_ecgdist("train --data /nonexistent.h5 --out " + run_dir("bad"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("/nonexistent.h5"), std::string::npos) << r.output;
  auto b = run_command(ecg::testing::mpirun_np2() + ECGDIST_BIN + " train" + common_args() + "--batch-size 15 --out " + run_dir("odd"));
  EXPECT_NE(b.exit_code, 0);
  EXPECT_NE(b.output.find("--batch-size"), std::string::npos) << b.output;
}

}  // namespace

TEST_F(TrainCli, Bf16TrainsAndRecordsItsPrecision) {
  const std::string out = run_dir("bf16");
  auto r = run_ecgdist("train" + common_args() + "--recipe fine-tune --epochs 1 --device cpu --precision bf16 --out " + out);
  // Not every machine of ours has bf16 instructions (some VMs hide AVX-512 entirely): there the
  // run must be the one-line refusal, and nothing more can be checked.
  bool cpu_has_bf16 = true;
  try {
    ecg::model::check_bf16_cpu();
  } catch (const ecg::Error&) {
    cpu_has_bf16 = false;
  }
  if (!cpu_has_bf16) {
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("--precision bf16: this CPU has no bf16 instructions"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(out + "/results.json"));
    GTEST_SKIP() << "this CPU has no bf16 instructions: checked the refusal only";
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("precision bf16"), std::string::npos) << r.output;
  auto j = results(out);
  EXPECT_EQ(j["settings"]["precision"], "bf16");
  EXPECT_EQ(j["settings"]["device"], "cpu");
  EXPECT_GT(j["test"]["macro_auroc"].get<double>(), 0.0);
}

TEST_F(TrainCli, ADeviceThatIsNotThereIsAOneLineError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  auto r = run_ecgdist("train" + common_args() + "--device cuda --epochs 1 --out " + run_dir("gpu"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--device cuda"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(run_dir("gpu") + "/results.json"));
  auto p = run_ecgdist("train" + common_args() + "--precision fp16 --out " + run_dir("fp16"));
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.output.find("--precision"), std::string::npos) << p.output;
}

// Beyond PTB-XL: each source's synthetic twin -> preprocess -> train --recipe post-train through the
// same engine with the file's own task (Challenge on 2 ranks: two rates, SNOMED CT labels, folds
// made by preprocess; CODE-15%; a WFDB folder with a label CSV). Predictions are named after the
// task's classes, and a task the file lacks is refused naming the ones it has.
struct SourceCase {
  const char* format;
  const char* preprocess;  // extra flags
  const char* task;
  const char* a_class;
  bool two_ranks;
};

class TrainOnSource : public ::testing::TestWithParam<SourceCase> {};

TEST_P(TrainOnSource, PostTrainsWithTheFilesOwnTask) {
  const SourceCase& c = GetParam();
  ecg::testing::TempDir dir;
  auto r = run_ecgdist(std::string("synth --format ") + c.format + " --records 120 --seed 8 --out " + dir / "src");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string h5 = dir / "data.h5";
  std::string extra = c.preprocess;
  const auto at = extra.find("SRC");
  if (at != std::string::npos) extra.replace(at, 3, dir / "src");
  r = run_ecgdist(std::string("preprocess --input ") + dir / "src" + " --out " + h5 + " --threads 2 " + extra);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_ecgdist("inspect " + h5);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(std::string("  ") + c.task + ": "), std::string::npos) << r.output;
  const std::string args = " --data " + h5 + " --model tiny --batch-size 16 --threads 1 --crop-length 750"
                           " --bootstrap 50 --eval-crops 2 --progress off ";
  const std::string train = std::string(" train") + args + "--task " + c.task +
                            " --recipe post-train --lp-epochs 1 --epochs 1 --out " + dir / "run";
  r = c.two_ranks ? run_command(ecg::testing::mpirun_np2() + ECGDIST_BIN + train) : run_ecgdist(train.substr(1));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir / "run/results.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["task"], c.task);
  EXPECT_EQ(j["recipe"], "post-train");
  EXPECT_TRUE(j["test"]["macro_auroc"].is_number());
  const auto classes = ecg::data::read_labels(h5, c.task).classes;
  EXPECT_NE(std::find(classes.begin(), classes.end(), c.a_class), classes.end());
  const std::string predictions = ecg::testing::read_text_file(dir / "run/test_predictions.csv");
  EXPECT_NE(predictions.substr(0, predictions.find('\n')).find(c.a_class), std::string::npos)
      << predictions.substr(0, 300);

  if (c.two_ranks) {
    r = run_ecgdist("train" + args + "--task superdiagnostic --recipe fine-tune --epochs 1 --out " + dir / "bad");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("no labels for task 'superdiagnostic' (present: dx, scored)"), std::string::npos)
        << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sources, TrainOnSource,
    ::testing::Values(SourceCase{"challenge", "--source challenge", "scored", "NSR", true},
                      SourceCase{"code15", "--source code15 --skip-bad-records", "abnormalities", "RBBB", false},
                      SourceCase{"wfdb", "--source wfdb --labels SRC/labels.csv", "labels", "NORM", false}),
    [](const ::testing::TestParamInfo<SourceCase>& info) { return std::string(info.param.format); });
