#include "trainer/recipe.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "comm/watchdog.h"
#include "common/error.h"
#include "common/log.h"
#include "model/st_mem.h"
#include "model/state_dict.h"
#include "monitoring/training_metrics.h"
#include "sharding/epoch_sampler.h"
#include "sharding/prefetcher.h"
#include "trainer/checkpoint.h"
#include "trainer/early_stopping.h"
#include "trainer/results_json.h"
#include "trainer/evaluation.h"
#include "trainer/grad_buckets.h"
#include "trainer/metrics.h"
#include "trainer/model_io.h"
#include "trainer/param_groups.h"
#include "trainer/run_monitor.h"
#include "trainer/run_outputs.h"
#include "trainer/schedule.h"
#include "trainer/step_loop.h"
#include "trainer/stop_signal.h"
#include "trainer/task_data.h"
#include "trainer/train_state.h"

namespace fs = std::filesystem;

namespace ecg::trainer {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct StagePlan {
  int stage = 2;           // 1 linear probing, 2 fine-tuning
  int epochs = 0;
  double lr = 0;
  double drop_path = 0;
  bool head_only = false;
  bool early_stopping = false;
};

std::vector<StagePlan> plan_recipe(const TrainOptions& o) {
  std::vector<StagePlan> plan;
  if (o.recipe == "post-train") {
    if (o.lp_epochs > 0) plan.push_back({1, o.lp_epochs, o.lp_lr, 0.0, true, false});
    plan.push_back({2, o.epochs, o.lr, o.drop_path, false, true});
  } else if (o.recipe == "fine-tune") {
    plan.push_back({2, o.epochs, o.lr, o.drop_path, false, true});
  } else {  // linear-probe
    plan.push_back({1, o.epochs, o.lp_lr, 0.0, true, true});
  }
  return plan;
}

// Distinct permutations per stage: the sampler's epoch key.
int64_t epoch_key(int stage, int epoch) { return static_cast<int64_t>(stage) * 100000 + epoch; }

class Trainer {
 public:
  Trainer(comm::Communicator& comm, TrainOptions options, const monitoring::MetricsOptions& mopts)
      : comm_(comm), o_(std::move(options)), mopts_(mopts) {}

  int run();

 private:
  void prepare();
  void build_model();
  void start_stage(const StagePlan& plan);
  // Returns false when a stop (signal / --max-steps) ended the epoch early.
  bool run_epoch(const StagePlan& plan);
  void train_step(const StagePlan& plan, sharding::Batch& batch, int64_t steps_per_epoch);
  void end_epoch(const StagePlan& plan);
  void save_training_checkpoint();
  void save_best_checkpoint(const StagePlan& plan);
  nlohmann::json base_meta() const;
  void finish();
  StepLoop step_loop() { return StepLoop{comm_, o_, watchdog_.get(), *monitor_, state_, o_.batch_size}; }

  comm::Communicator& comm_;
  TrainOptions o_;
  monitoring::MetricsOptions mopts_;
  TaskData data_;
  std::vector<int> lead_rows_;
  std::vector<StagePlan> plan_;
  model::StMem model_{nullptr};
  std::unique_ptr<comm::Watchdog> watchdog_;
  std::unique_ptr<RunMonitor> monitor_;
  TrainState state_;
  std::string resume_from_;

  // Per stage.
  std::vector<ParamGroupSpec> groups_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<GradBuckets> buckets_;
  WarmupCosineSchedule schedule_;
  std::unique_ptr<sharding::EpochSampler> sampler_;
  // Best validation weights (every rank keeps the same copy: parameters are identical).
  std::vector<std::pair<std::string, torch::Tensor>> best_state_;
  Clock::time_point run_start_;
};

void Trainer::prepare() {
  resolve_defaults(o_);
  validate(o_);
  watchdog_ = start_engine(comm_, o_);

  data_ = load_task_data(o_);
  ECG_CHECK(o_.crop_length <= data_.num_samples, "{}: records have {} samples, fewer than the crop of {}",
            o_.data, data_.num_samples, o_.crop_length);
  check_data_for_model(data_);
  if (o_.leads.empty()) o_.leads = model::standard_lead_names();
  lead_rows_ = sharding::lead_indices_from_names(o_.leads);
  plan_ = plan_recipe(o_);

  if (comm_.rank() == 0) {
    nlohmann::json resolved = o_;
    resolved["world_size"] = comm_.size();
    resolved["backend"] = comm_.backend();
    log::info("ecgdist train: resolved configuration\n{}", resolved.dump(2));
    log::info("data: {}", data_.summary().dump());
  }
  resume_from_ = resolve_resume_path(o_);
}

void Trainer::build_model() {
  model::StMemConfig config = model::StMemConfig::preset(o_.model);
  config.num_classes = data_.num_classes();
  config.dropout = o_.dropout;
  config.drop_path = 0.0;
  config.leads = o_.leads;
  config.validate();
  torch::manual_seed(o_.seed);  // deterministic initialisation (same on every rank anyway)
  model_ = model::StMem(config);
  if (!o_.init.empty()) load_init_weights(model_, o_.init, data_);
  // Rank 0's weights and buffers everywhere: the ranks start identical whatever happened above.
  broadcast_parameters(comm_, *model_);
}

void Trainer::start_stage(const StagePlan& plan) {
  model_->set_drop_path(plan.drop_path);
  std::vector<std::pair<std::string, torch::Tensor>> trainable;
  for (auto& item : model_->named_parameters()) {
    const bool is_head = item.key().rfind("head.", 0) == 0;
    item.value().set_requires_grad(is_head || !plan.head_only);
    if (is_head || !plan.head_only) trainable.emplace_back(item.key(), item.value());
  }
  const int depth = static_cast<int>(model_->config().depth);
  groups_ = make_param_groups(trainable, depth, o_.weight_decay, plan.head_only ? 1.0 : o_.layer_decay);
  optimizer_ = make_adamw(groups_, plan.lr);
  std::vector<torch::Tensor> params;
  for (const auto& g : groups_) params.insert(params.end(), g.params.begin(), g.params.end());
  buckets_.reset();
  if (comm_.size() > 1) {
    // Rebuilt whenever the trainable set changes: frozen parameters are never communicated.
    buckets_ = std::make_unique<GradBuckets>(comm_, trainable_in_registration_order(*model_),
                                             static_cast<size_t>(o_.bucket_mb * 1024 * 1024));
  }
  sampler_ = std::make_unique<sharding::EpochSampler>(data_.train, o_.seed, o_.batch_size, comm_.size(),
                                                      comm_.rank());
  const int64_t total = std::max<int64_t>(1, sampler_->steps_per_epoch() * std::max(1, plan.epochs));
  schedule_ = warmup_cosine(plan.lr, o_.min_lr, total, o_.warmup_fraction);
  monitor_->set_stage(plan.stage);
}

void Trainer::train_step(const StagePlan& plan, sharding::Batch& batch, int64_t steps_per_epoch) {
  monitoring::StepTimes times;
  times.data_wait = batch.wait_seconds;
  const int64_t step_in_stage = state_.epoch * steps_per_epoch + state_.step;
  const double lr = schedule_.lr(step_in_stage);
  apply_lr(*optimizer_, groups_, lr);

  auto t0 = Clock::now();
  auto x = torch::from_blob(batch.signals.data(), {batch.size, batch.leads, batch.samples}, torch::kFloat32);
  auto y = torch::from_blob(batch.labels.data(), {batch.size, batch.num_classes}, torch::kUInt8)
               .to(torch::kFloat32);
  std::vector<int64_t> seeds(batch.items.size());
  for (size_t i = 0; i < seeds.size(); ++i) seeds[i] = static_cast<int64_t>(batch.items[i].seed);
  auto seed_tensor = torch::tensor(seeds, torch::kInt64);
  torch::Tensor logits;
  if (plan.head_only) {
    // Stage 1: the encoder is frozen and in eval mode; no graph through it.
    torch::Tensor features;
    {
      torch::NoGradGuard no_grad;
      model_->eval();
      features = model_->forward_features(x, seed_tensor);
    }
    model_->train();
    logits = model_->head()->forward(features);
  } else {
    model_->train();
    logits = model_->forward(x, seed_tensor);
  }
  auto loss = torch::binary_cross_entropy_with_logits(logits, y);
  times.forward = seconds_since(t0);

  auto t1 = Clock::now();
  optimizer_->zero_grad();
  loss.backward();
  times.backward = seconds_since(t1);

  StepLoop loop = step_loop();
  complete_step(loop, buckets_.get(), *optimizer_, loss, times, batch.size, lr,
                fmt::format("stage {}", plan.stage));
}

bool Trainer::run_epoch(const StagePlan& plan) {
  sampler_->set_epoch(epoch_key(plan.stage, state_.epoch));
  const int64_t steps = sampler_->steps_per_epoch();
  ECG_CHECK(steps > 0, "--batch-size {} exceeds the {} training records", o_.batch_size, data_.train.size());
  sharding::LabelMatrix labels;
  labels.task = o_.task;
  labels.classes = data_.classes;
  labels.rows = data_.num_records;
  labels.values = data_.labels;
  sharding::PrefetchConfig config;
  config.leads = lead_rows_;
  config.crop_samples = o_.crop_length;
  config.depth = o_.prefetch_depth;
  config.worker_threads = 1;
  sharding::Prefetcher prefetcher(o_.data, sampler_->batches_from(state_.step), std::move(labels), config);
  monitor_->set_epoch(plan.stage, state_.epoch, plan.epochs, steps - state_.step);
  StepLoop loop = step_loop();
  return run_batches(
      loop, prefetcher, *model_, steps, [&](sharding::Batch& batch) { train_step(plan, batch, steps); },
      [this] { save_training_checkpoint(); });
}

void Trainer::end_epoch(const StagePlan& plan) {
  EvalSettings settings{o_.data, lead_rows_, o_.crop_length, o_.eval_crops,
                        std::max<int64_t>(1, o_.batch_size / comm_.size()), o_.timeout};
  auto t0 = Clock::now();
  auto probs = predict_records(model_, comm_, data_.val, settings, watchdog_.get(), "validation");
  LabelScores scores;
  scores.records = data_.val.size();
  scores.labels = static_cast<size_t>(data_.num_classes());
  scores.scores = std::move(probs);
  scores.targets = gather_targets(data_.labels, data_.num_classes(), data_.val);
  scores.names = data_.classes;
  BootstrapOptions no_bootstrap;
  no_bootstrap.resamples = 0;
  MetricReport report = evaluate_metrics(scores, no_bootstrap);
  HistoryRow row;
  row.epoch = state_.epoch + 1;
  row.stage = plan.stage;
  row.train_loss = state_.epoch_mean_loss();
  row.val_macro_auroc = report.macro_auroc;
  row.val_macro_auprc = report.macro_auprc;
  row.lr = optimizer_->param_groups().empty()
               ? 0.0
               : static_cast<torch::optim::AdamWOptions&>(optimizer_->param_groups()[0].options()).lr();
  row.seconds = state_.epoch_seconds + seconds_since(t0);
  state_.history.push_back(row);
  state_.train_seconds += row.seconds;
  monitor_->set_validation(report.macro_auroc, report.macro_auprc);
  log::info("stage {} epoch {}/{}: train_loss {:.4f}  val macro AUROC {:.4f}  AUPRC {:.4f}  ({:.1f} s)",
            plan.stage, row.epoch, plan.epochs, row.train_loss, row.val_macro_auroc, row.val_macro_auprc,
            row.seconds);

  if (plan.early_stopping) {
    EarlyStopping stopper = state_.early_stopping.is_null()
                                ? EarlyStopping(o_.patience)
                                : EarlyStopping::from_json(state_.early_stopping);
    if (stopper.update(row.epoch, report.macro_auroc)) {
      state_.best_score = report.macro_auroc;
      state_.best_stage = plan.stage;
      state_.best_epoch = row.epoch;
      best_state_ = snapshot_state(*model_);
      save_best_checkpoint(plan);
    }
    state_.early_stopping = stopper.to_json();
    state_.stopped_early = stopper.should_stop();
  }
  monitor_->end_epoch();
  state_.next_epoch();
}

nlohmann::json Trainer::base_meta() const {
  nlohmann::json meta;
  meta["model_config"] = model_->config();
  meta["task"] = o_.task;
  meta["classes"] = data_.classes;
  meta["preprocessing"] = data_.manifest;
  meta["options"] = o_;
  return meta;
}

void Trainer::save_training_checkpoint() {
  nlohmann::json meta = base_meta();
  meta["kind"] = "training";
  StepLoop loop = step_loop();
  write_step_checkpoint(loop, meta, *model_, *optimizer_);
}

void Trainer::save_best_checkpoint(const StagePlan& plan) {
  if (comm_.rank() != 0) return;
  comm::WatchdogScope guard(watchdog_.get(), "checkpoint write", state_.global_step, o_.timeout);
  nlohmann::json meta = base_meta();
  meta["kind"] = "best";
  meta["best"] = {{"stage", plan.stage}, {"epoch", state_.best_epoch}, {"val_macro_auroc", state_.best_score}};
  save_checkpoint((fs::path(o_.out) / "best.ckpt").string(), meta, best_state_, nullptr);
}

int Trainer::run() {
  run_start_ = Clock::now();
  // The exporter starts first: its port is claimed (or the clash reported) before any work.
  monitor_ = std::make_unique<RunMonitor>(comm_, mopts_, o_.quiet);
  prepare();
  build_model();

  if (!resume_from_.empty()) {
    LoadedCheckpoint peek = load_checkpoint(resume_from_);
    check_resume_compatible(peek.meta, o_, data_, resume_from_);
    state_ = peek.meta.at("state").get<TrainState>();
    load_model_state(model_, peek.state, resume_from_);
    auto best_path = fs::path(o_.out) / "best.ckpt";
    if (state_.best_epoch > 0 && fs::exists(best_path)) {
      LoadedCheckpoint best = load_checkpoint(best_path.string());
      best_state_.assign(best.state.begin(), best.state.end());
    }
    log::info("resuming from {} (stage {}, epoch {}, step {})", resume_from_,
              plan_.at(state_.stage_index).stage, state_.epoch + 1, state_.step);
  }

  bool stopped = false;
  for (; state_.stage_index < static_cast<int>(plan_.size()); ++state_.stage_index) {
    const StagePlan& plan = plan_[state_.stage_index];
    start_stage(plan);
    if (!resume_from_.empty()) {
      // The optimiser state belongs to the stage the checkpoint was written in.
      load_checkpoint(resume_from_, optimizer_.get());
      resume_from_.clear();
    }
    while (state_.epoch < plan.epochs && !state_.stopped_early) {
      if (!run_epoch(plan)) {
        stopped = true;
        break;
      }
      end_epoch(plan);
      save_training_checkpoint();
    }
    if (stopped) break;
    state_.epoch = 0;
    state_.step = 0;
    state_.stopped_early = false;
  }
  if (stopped) {
    save_training_checkpoint();
    log::info("stopped at step {}: checkpoint written to {}; resume with --resume auto", state_.global_step,
              newest_checkpoint(o_.out));
    return kPreemptedExitCode;
  }
  finish();
  return 0;
}

void Trainer::finish() {
  if (!best_state_.empty()) {
    load_model_state(model_, std::map<std::string, torch::Tensor>(best_state_.begin(), best_state_.end()),
                     "best validation state");
  }
  EvalSettings settings{o_.data, lead_rows_, o_.crop_length, o_.eval_crops,
                        std::max<int64_t>(1, o_.batch_size / comm_.size()), o_.timeout};
  auto probs = predict_records(model_, comm_, data_.test, settings, watchdog_.get(), "test evaluation");
  if (comm_.rank() == 0) {
    comm::WatchdogScope guard(watchdog_.get(), "test metrics", state_.global_step, o_.timeout);
    LabelScores scores;
    scores.records = data_.test.size();
    scores.labels = static_cast<size_t>(data_.num_classes());
    scores.scores = probs;
    scores.targets = gather_targets(data_.labels, data_.num_classes(), data_.test);
    scores.names = data_.classes;
    BootstrapOptions boot;
    boot.resamples = o_.bootstrap;
    boot.seed = o_.seed;
    boot.threads = 2;
    MetricReport report = evaluate_metrics(scores, boot);
    std::vector<int64_t> ids;
    for (int64_t i : data_.test) ids.push_back(data_.ecg_id[static_cast<size_t>(i)]);
    write_predictions_csv((fs::path(o_.out) / "test_predictions.csv").string(), ids, data_.classes, probs);
    write_history_csv((fs::path(o_.out) / "history.csv").string(), state_.history);
    write_json_file((fs::path(o_.out) / "results.json").string(),
                    make_results_json(o_, data_, state_, report, comm_.size(), seconds_since(run_start_)));
    log::info("test ({} records): macro AUROC {:.4f} [{:.4f}, {:.4f}]  macro AUPRC {:.4f} [{:.4f}, {:.4f}]",
              data_.test.size(), report.macro_auroc, report.macro_auroc_ci.lower, report.macro_auroc_ci.upper,
              report.macro_auprc, report.macro_auprc_ci.lower, report.macro_auprc_ci.upper);
  }
  comm_.barrier("results written");
}

}  // namespace

int run_training(comm::Communicator& comm, TrainOptions options,
                 const monitoring::MetricsOptions& metrics_options) {
  Trainer trainer(comm, std::move(options), metrics_options);
  return trainer.run();
}

}  // namespace ecg::trainer
