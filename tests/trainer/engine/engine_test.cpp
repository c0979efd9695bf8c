// The engine on its own, with a toy task (a linear model on the sharding fixture's HDF5 file)
// and a one-rank communicator: stage and epoch order, what trains in which stage, early stopping,
// the preemption stop and an exact resume, the non-finite rule, checkpoints. No ST-MEM here: the
// tasks' own behaviour is covered by tests/finetune and tests/pretrain.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/error.h"
#include "trainer/engine/checkpoint_files.h"
#include "trainer/engine/device.h"
#include "trainer/engine/engine.h"
#include "trainer/engine/eval_pass.h"
#include "trainer/engine/stop_signal.h"
#include "model/state_dict.h"
#include "tests/sharding/sharding_fixture.h"
#include "tests/test_util.h"

namespace ecg::engine {
namespace {

namespace fs = std::filesystem;

// One process, no MPI: every collective of a world of one.
class LocalComm final : public comm::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  comm::Device device() const override { return comm::Device::cpu; }
  std::unique_ptr<comm::Request> all_reduce_async(void*, size_t, comm::DType, comm::ReduceOp,
                                                  const std::string&) override {
    ADD_FAILURE() << "one rank never all-reduces gradients";
    return nullptr;
  }
  void broadcast_host(void*, size_t, int, const std::string&) override {}
  void barrier(const std::string&) override {}
  void all_gather_host(const void* in, void* out, size_t bytes, const std::string&) override {
    std::memcpy(out, in, bytes);
  }
  void set_timeout(double) override {}
  double timeout() const override { return 0; }
  [[noreturn]] void abort(int code) override { throw Error(fmt::format("abort({})", code), __FILE__, __LINE__); }
};

struct ToyNet : torch::nn::Module {
  ToyNet() {
    fc = register_module("fc", torch::nn::Linear(12 * 32, 1));
  }
  torch::nn::Linear fc{nullptr};
};

constexpr int kRecords = 40;
constexpr int kBatch = 8;

// Stage 1 (linear probing) trains the bias only, stage 2 everything.
class ToyTask final : public Task {
 public:
  ToyTask(std::string data, std::vector<StageSpec> plan) : data_(std::move(data)), plan_(std::move(plan)) {}

  const char* command() const override { return "toy"; }
  nlohmann::json options_json() const override { return {{"toy", true}}; }
  void prepare(const RunContext&) override { ++prepared; }
  torch::nn::Module& build_model(const RunContext&) override {
    torch::manual_seed(7);
    net = std::make_shared<ToyNet>();
    return *net;
  }
  std::vector<StageSpec> plan() const override { return plan_; }
  TrainingInput training_input() const override {
    TrainingInput in;
    in.path = data_;
    for (int64_t i = 0; i < kRecords; ++i) in.records.push_back(i);
    in.crop_length = 32;
    in.batch_size = kBatch;
    in.seed = 11;
    return in;
  }
  void resume(const RunContext&, const model::LoadedCheckpoint& checkpoint, const std::string& path) override {
    resumed_from = path;
    ends = checkpoint.meta.at("ends").get<int>();
    model::load_module_state(*net, checkpoint.state, "toy");
  }
  model::NamedTensors start_stage(size_t index) override {
    started.push_back(index);
    model::NamedTensors trainable;
    for (auto& item : net->named_parameters()) {
      const bool trains = index > 0 || item.key() == "fc.bias";
      item.value().set_requires_grad(trains);
      if (trains) trainable.emplace_back(item.key(), item.value());
    }
    return trainable;
  }
  torch::Tensor loss(const DeviceBatch& batch, size_t) override {
    EXPECT_EQ(batch.signals.device(), device_seen);
    auto x = batch.signals.reshape({batch.signals.size(0), -1});
    ++steps;
    if (nan_at_step == steps) return torch::tensor(NAN, torch::requires_grad());
    return (net->fc->forward(x / 1000.0) - 1.0).pow(2).mean();
  }
  bool end_epoch(const RunContext& run, const EpochEnd& end) override {
    ++ends;
    epochs.emplace_back(end.stage->stage, end.epoch);
    EXPECT_TRUE(std::isfinite(end.train_loss));
    EXPECT_GT(end.lr, 0.0);
    EXPECT_EQ(run.state.step, kRecords / kBatch);
    if (end.stage_index == 0) weight_after_stage1 = net->fc->weight.detach().clone();
    return stop_stage_after && end.stage_index == 1 && end.epoch == stop_stage_after;
  }
  nlohmann::json checkpoint_meta() const override { return {{"kind", "toy"}, {"ends", ends}}; }
  void finish(const RunContext& run) override { finished_at_step = run.state.global_step; }

  std::shared_ptr<ToyNet> net;
  torch::Device device_seen = torch::kCPU;
  int prepared = 0;
  int ends = 0;
  int steps = 0;
  int nan_at_step = -1;
  int stop_stage_after = 0;  // end stage 2 after this epoch (early stopping)
  std::string resumed_from;
  std::vector<size_t> started;
  std::vector<std::pair<Stage, int>> epochs;
  torch::Tensor weight_after_stage1;
  int64_t finished_at_step = -1;

 private:
  std::string data_;
  std::vector<StageSpec> plan_;
};

std::vector<StageSpec> two_stages() {
  StageSpec probe;
  probe.stage = Stage::linear_probing;
  probe.epochs = 1;
  probe.lr = 1e-2;
  StageSpec tune;
  tune.stage = Stage::fine_tuning;
  tune.epochs = 2;
  tune.lr = 1e-2;
  tune.warmup_fraction = 0.2;
  return {probe, tune};
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clear_stop();
    testing::write_fixture_file(dir_ / "toy.h5");
    options_.threads = 1;
    options_.quiet = true;
    options_.checksum_every_steps = 3;
  }
  void TearDown() override { clear_stop(); }
  EngineOptions options_for(const std::string& run) {
    EngineOptions o = options_;
    o.out = dir_ / run;
    return o;
  }
  int run(ToyTask& task, const EngineOptions& options) {
    Engine engine(comm_, options, monitoring::MetricsOptions{});
    const int code = engine.run(task);
    state_ = engine.state();
    return code;
  }
  std::string data() const { return dir_ / "toy.h5"; }

  testing::TempDir dir_;
  LocalComm comm_;
  EngineOptions options_;
  TrainState state_;
};

TEST_F(EngineTest, RunsEveryStageAndEpochInOrder) {
  ToyTask task(data(), two_stages());
  ASSERT_EQ(run(task, options_for("a")), 0);
  EXPECT_EQ(task.prepared, 1);
  EXPECT_EQ(task.started, (std::vector<size_t>{0, 1}));
  const std::vector<std::pair<Stage, int>> expected = {
      {Stage::linear_probing, 1}, {Stage::fine_tuning, 1}, {Stage::fine_tuning, 2}};
  EXPECT_EQ(task.epochs, expected);
  const int steps = 3 * kRecords / kBatch;
  EXPECT_EQ(task.finished_at_step, steps);
  EXPECT_EQ(state_.global_step, steps);
  EXPECT_EQ(state_.samples_seen, steps * kBatch);
  EXPECT_GT(state_.samples_per_second(), 0.0);
  // One checkpoint per epoch end; the newest two are kept.
  EXPECT_EQ(newest_checkpoint(options_for("a").out), step_checkpoint_path(options_for("a").out, steps));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "a/checkpoints"), fs::directory_iterator()), 2);
}

TEST_F(EngineTest, OnlyTheStagesTrainableParametersChange) {
  ToyTask task(data(), two_stages());
  torch::Tensor initial;
  {
    torch::manual_seed(7);
    initial = ToyNet().fc->weight.detach().clone();
  }
  ASSERT_EQ(run(task, options_for("b")), 0);
  EXPECT_TRUE(torch::equal(task.weight_after_stage1, initial)) << "stage 1 trains the bias alone";
  EXPECT_FALSE(torch::equal(task.net->fc->weight.detach(), initial)) << "stage 2 trains the weight";
}

TEST_F(EngineTest, TheTaskEndsAStageEarly) {
  ToyTask task(data(), two_stages());
  task.stop_stage_after = 1;
  ASSERT_EQ(run(task, options_for("c")), 0);
  ASSERT_EQ(task.epochs.size(), 2u);
  EXPECT_EQ(task.epochs.back(), std::make_pair(Stage::fine_tuning, 1));
}

TEST_F(EngineTest, AStopCheckpointsAndTheResumedRunEqualsAnUninterruptedOne) {
  ToyTask whole(data(), two_stages());
  ASSERT_EQ(run(whole, options_for("whole")), 0);

  EngineOptions parts = options_for("parts");
  parts.max_steps = 7;  // inside stage 2's first epoch
  ToyTask first(data(), two_stages());
  ASSERT_EQ(run(first, parts), kPreemptedExitCode);
  EXPECT_EQ(state_.global_step, 7);
  EXPECT_EQ(newest_checkpoint(parts.out), step_checkpoint_path(parts.out, 7));
  EXPECT_EQ(first.finished_at_step, -1);

  clear_stop();
  parts.max_steps = 0;
  parts.resume = "auto";
  ToyTask second(data(), two_stages());
  ASSERT_EQ(run(second, parts), 0);
  EXPECT_EQ(second.resumed_from, step_checkpoint_path(parts.out, 7));
  EXPECT_EQ(second.ends, 3);  // the task's own state came back with the checkpoint
  EXPECT_EQ(second.started, (std::vector<size_t>{1}));
  EXPECT_EQ(state_.global_step, whole.finished_at_step);
  EXPECT_TRUE(torch::allclose(second.net->fc->weight, whole.net->fc->weight, 0, 1e-7));
  EXPECT_TRUE(torch::allclose(second.net->fc->bias, whole.net->fc->bias, 0, 1e-7));
}

TEST_F(EngineTest, ANonFiniteLossNamesTheStepOrIsSkipped) {
  ToyTask failing(data(), two_stages());
  failing.nan_at_step = 3;
  try {
    run(failing, options_for("nan"));
    FAIL() << "a NaN loss must stop the run";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("non-finite loss at step 2 (stage 1, epoch 1) on rank(s) 0"), std::string::npos)
        << e.message();
  }
  ToyTask skipping(data(), two_stages());
  skipping.nan_at_step = 3;
  EngineOptions skip = options_for("skip");
  skip.skip_nonfinite = true;
  ASSERT_EQ(run(skipping, skip), 0);
  EXPECT_EQ(state_.skipped_nonfinite, 1);
}

TEST_F(EngineTest, AResumedCheckpointOutsideThePlanIsRefused) {
  ToyTask whole(data(), two_stages());
  ASSERT_EQ(run(whole, options_for("long")), 0);
  EngineOptions again = options_for("long");
  again.resume = newest_checkpoint(again.out);
  ToyTask shorter(data(), {two_stages().front()});
  try {
    run(shorter, again);
    FAIL() << "stage 2 of 1";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("outside this run's plan"), std::string::npos) << e.message();
  }
}

// The one evaluation loop (trainer/engine/eval_pass.h): a split's records each once, in the
// split's order, whole or centre-cropped, staged like training's batches, the model in eval mode
// without gradients and restored afterwards.
TEST(EvalPass, VisitsEachRecordOnceInOrderInEvalModeWithoutGradients) {
  testing::TempDir dir;
  testing::write_fixture_file(dir / "eval.h5");
  ToyNet net;
  net.train();
  LocalComm comm;
  EvalPass pass;
  pass.path = dir / "eval.h5";
  pass.records = {5, 3, 17, 0, 39, 8, 21};
  pass.batch = 3;
  pass.lead_rows = {1, 0};
  pass.phase = "test pass";
  std::vector<int64_t> seen_positions;
  std::vector<float> first_values;
  int batches = 0;
  const EvalShare share = run_eval_pass(net, torch::kCPU, comm, nullptr, pass, [&](const DeviceBatch& b) {
    ++batches;
    EXPECT_FALSE(net.is_training());
    EXPECT_FALSE(torch::GradMode::is_enabled());
    ASSERT_TRUE(b.signals.defined());
    EXPECT_EQ(b.signals.size(1), 2);
    EXPECT_EQ(b.signals.size(2), 64);  // whole records
    for (size_t k = 0; k < b.host->items.size(); ++k) {
      seen_positions.push_back(b.host->items[k].position);
      first_values.push_back(b.signals[static_cast<int64_t>(k)][0][0].item<float>());
    }
  });
  EXPECT_TRUE(net.is_training());
  EXPECT_EQ(share.first, 0);
  EXPECT_EQ(share.count, 7);
  EXPECT_EQ(batches, 3);  // 3 + 3 + 1: nothing dropped
  EXPECT_EQ(seen_positions, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  for (size_t k = 0; k < pass.records.size(); ++k) {
    EXPECT_EQ(first_values[k], testing::fixture_value(pass.records[k], 1, 0)) << k;  // lead row 1 first
  }

  // Centre crops, and host-only batches for a caller that prepares its input on the CPU.
  pass.lead_rows.clear();
  pass.crop_samples = 16;
  pass.transform = sharding::center_crop_transform();
  pass.stage_on_device = false;
  run_eval_pass(net, torch::kCPU, comm, nullptr, pass, [&](const DeviceBatch& b) {
    EXPECT_FALSE(b.signals.defined());
    EXPECT_EQ(b.host->samples, 16);
    EXPECT_EQ(b.host->leads, 12);
  });

  // One rank: the gathered rows are its own; a share of the wrong size is refused.
  const std::vector<float> rows = {1, 2, 3, 4};
  EXPECT_EQ(gather_eval_rows(comm, rows, 2, 2, "gather"), rows);
  EXPECT_THROW(gather_eval_rows(comm, rows, 3, 2, "gather"), Error);
}

TEST(Device, ResolvesCpuAndRefusesAMissingGpu) {
  EXPECT_EQ(resolve_device(DeviceChoice::cpu, 0), torch::Device(torch::kCPU));
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_EQ(resolve_device(DeviceChoice::auto_select, 1), torch::Device(torch::kCPU));
  try {
    resolve_device(DeviceChoice::cuda, 0);
    FAIL() << "no GPU here";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("--device cuda"), std::string::npos) << e.message();
  }
}

TEST(Device, CpuStagingViewsThePrefetchedBufferWithoutCopying) {
  sharding::Batch batch;
  batch.size = 2;
  batch.leads = 3;
  batch.samples = 4;
  batch.signals.assign(24, 1.5f);
  batch.num_classes = 2;
  batch.labels = {1, 0, 0, 1};
  batch.items.resize(2);
  batch.items[0].seed = 7;
  batch.items[1].seed = 9;
  BatchStager stager(torch::kCPU);
  DeviceBatch staged = stager.stage(batch);
  EXPECT_EQ(staged.signals.data_ptr<float>(), batch.signals.data());
  EXPECT_EQ(staged.signals.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(torch::equal(staged.labels, torch::tensor({{1.f, 0.f}, {0.f, 1.f}})));
  EXPECT_EQ(staged.seeds[1].item<int64_t>(), 9);
  EXPECT_EQ(staged.host, &batch);
}

TEST(Device, OptimiserStateMovesAndCheckpointsAsCpuTensors) {
  auto w = torch::ones({3}, torch::requires_grad());
  torch::optim::AdamW adamw({w}, torch::optim::AdamWOptions(0.1));
  w.mutable_grad() = torch::full({3}, 0.5);
  adamw.step();
  move_optimizer_state(adamw, torch::kCPU);
  testing::TempDir dir;
  model::save_checkpoint(dir / "c.ckpt", {{"kind", "toy"}}, {{"w", w}}, &adamw);
  auto w2 = torch::ones({3}, torch::requires_grad());
  torch::optim::AdamW restored({w2}, torch::optim::AdamWOptions(0.1));
  model::load_checkpoint(dir / "c.ckpt", &restored);
  move_optimizer_state(restored, torch::kCPU);
  ASSERT_EQ(restored.state().size(), 1u);
  for (auto& item : restored.state()) {
    auto& s = static_cast<torch::optim::AdamWParamState&>(*item.second);
    EXPECT_TRUE(s.exp_avg().device().is_cpu());
    EXPECT_TRUE(torch::allclose(s.exp_avg(), torch::full({3}, 0.05)));
    EXPECT_EQ(s.step(), 1);
  }
}

TEST(TrainState, RoundTripsThroughJson) {
  TrainState s;
  s.stage_index = 1;
  s.epoch = 2;
  s.step = 3;
  s.global_step = 40;
  s.epoch_loss_sum = 1.5;
  s.epoch_loss_steps = 3;
  s.stopped_early = true;
  s.samples_seen = 640;
  s.step_seconds = 8;
  const TrainState back = nlohmann::json(s).get<TrainState>();
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(s));
  EXPECT_DOUBLE_EQ(back.epoch_mean_loss(), 0.5);
  EXPECT_DOUBLE_EQ(back.samples_per_second(), 80.0);
  TrainState next = back;
  next.next_epoch();
  EXPECT_EQ(next.epoch, 3);
  EXPECT_EQ(next.step, 0);
  EXPECT_TRUE(std::isnan(next.epoch_mean_loss()));
}

TEST(SamplerEpochKey, DiffersPerStageAndKeepsPretrainingEpochs) {
  EXPECT_EQ(sampler_epoch_key(Stage::pretraining, 4), 4);
  EXPECT_NE(sampler_epoch_key(Stage::linear_probing, 0), sampler_epoch_key(Stage::fine_tuning, 0));
  EXPECT_EQ(describe(Stage::fine_tuning), "stage 2");
  EXPECT_EQ(describe(Stage::pretraining), "pretraining");
}

TEST(CheckpointFiles, NewestPruneAndResume) {
  testing::TempDir dir;
  EngineOptions o;
  o.out = dir.path();
  EXPECT_EQ(newest_checkpoint(o.out), "");
  o.resume = "auto";
  EXPECT_EQ(resolve_resume_path(o), "");
  fs::create_directories(dir / "checkpoints");
  for (int step : {5, 10, 15}) testing::write_text_file(step_checkpoint_path(o.out, step), "x");
  testing::write_text_file(dir / "checkpoints/step-000000020.ckpt.tmp.123", "partial");
  EXPECT_EQ(newest_checkpoint(o.out), step_checkpoint_path(o.out, 15));
  EXPECT_EQ(resolve_resume_path(o), step_checkpoint_path(o.out, 15));
  prune_checkpoints(o.out, 2);
  EXPECT_FALSE(fs::exists(step_checkpoint_path(o.out, 5)));
  EXPECT_TRUE(fs::exists(step_checkpoint_path(o.out, 10)));
  o.resume = dir / "missing.ckpt";
  EXPECT_THROW(resolve_resume_path(o), Error);
  EXPECT_THROW(check_same_settings({{"seed", 1}}, {{"seed", 2}}, {"seed"}, "x.ckpt"), Error);
  EXPECT_NO_THROW(check_same_settings({{"seed", 1}, {"out", "a"}}, {{"seed", 1}, {"out", "b"}}, {"seed"}, "x"));
}

}  // namespace
}  // namespace ecg::engine
