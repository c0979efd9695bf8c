#include "trainer/finetune/finetune_task.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <utility>

#include "comm/watchdog.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stopwatch.h"
#include "trainer/engine/checkpoint_files.h"
#include "trainer/engine/engine.h"
#include "eval/early_stopping.h"
#include "eval/metrics.h"
#include "eval/run_outputs.h"
#include "trainer/finetune/evaluation.h"
#include "trainer/finetune/finetune_state.h"
#include "trainer/finetune/profile_defaults.h"
#include "trainer/finetune/model_init.h"
#include "trainer/finetune/recipe.h"
#include "trainer/finetune/results_json.h"
#include "trainer/finetune/split_scores.h"
#include "trainer/finetune/task_data.h"
#include "model/checkpoint.h"
#include "model/st_mem.h"
#include "sharding/stmem_transform.h"

namespace fs = std::filesystem;

namespace ecg::finetune {
namespace {

using Clock = SteadyClock;

class FinetuneTask final : public engine::Task {
 public:
  explicit FinetuneTask(TrainOptions options) : o_(std::move(options)), start_(Clock::now()) {}
  const TrainOptions& options() const { return o_; }

  const char* command() const override { return "train"; }
  nlohmann::json options_json() const override { return o_; }
  void prepare(const engine::RunContext& run) override;
  torch::nn::Module& build_model(const engine::RunContext& run) override;
  std::vector<engine::StageSpec> plan() const override;
  engine::TrainingInput training_input() const override;
  void resume(const engine::RunContext& run, const model::LoadedCheckpoint& checkpoint,
              const std::string& path) override;
  model::NamedTensors start_stage(size_t index) override;
  torch::Tensor loss(const engine::DeviceBatch& batch, size_t index) override;
  bool end_epoch(const engine::RunContext& run, const engine::EpochEnd& end) override;
  nlohmann::json checkpoint_meta() const override;
  void finish(const engine::RunContext& run) override;

 private:
  nlohmann::json base_meta() const;
  EvalSettings eval_settings(const engine::RunContext& run) const;
  void save_best_checkpoint(const engine::RunContext& run, const StagePlan& stage);

  TrainOptions o_;
  Clock::time_point start_;
  TaskData data_;
  std::vector<int> lead_rows_;
  // ST-MEM's per-crop pipeline (--profile st-mem), shared by the prefetcher's workers; else null.
  std::shared_ptr<const data::StMemInput> stmem_;
  std::vector<StagePlan> stages_;
  model::StMem model_{nullptr};
  FinetuneState state_;
  // Best validation weights (every rank keeps the same copy: parameters are identical).
  model::NamedTensors best_state_;
};

void FinetuneTask::prepare(const engine::RunContext& run) {
  data_ = load_task_data(o_);
  check_profile_data(o_.profile, data_.file.manifest, o_.data);
  ECG_CHECK(o_.crop_length <= data_.file.n_samples, "{}: records have {} samples, fewer than the crop of {}",
            o_.data, data_.file.n_samples, o_.crop_length);
  model::check_model_input(data_.file.path, data_.file.sampling_rate, data_.file.leads);
  if (o_.leads.empty()) o_.leads = model::standard_lead_names();
  lead_rows_ = sharding::lead_indices_from_names(o_.leads);
  if (o_.profile == InputProfile::st_mem) stmem_ = make_stmem_input(static_cast<int>(lead_rows_.size()), o_.eval_crops);
  stages_ = plan_recipe(o_);
  if (run.comm.rank() == 0) log::info("data: {}", data_.summary().dump());
}

torch::nn::Module& FinetuneTask::build_model(const engine::RunContext&) {
  model::StMemConfig config = model::StMemConfig::preset(o_.model);
  config.num_classes = data_.num_classes();
  config.dropout = o_.dropout;
  config.drop_path = 0.0;
  config.leads = o_.leads;
  config.validate();
  torch::manual_seed(o_.seed);  // deterministic initialisation (same on every rank anyway)
  model_ = model::StMem(config);
  if (!o_.init.empty()) load_init_weights(model_, o_, data_);
  model_->set_precision(o_.precision);
  return *model_;
}

std::vector<engine::StageSpec> FinetuneTask::plan() const {
  std::vector<engine::StageSpec> specs;
  for (const StagePlan& s : stages_) {
    engine::StageSpec spec;
    spec.stage = s.stage;
    spec.epochs = s.epochs;
    // --lr-horizon shapes only the stage that early stopping ends; a fixed-length stage (post-train's
    // linear probing) decays over exactly its epochs.
    spec.schedule_epochs = s.early_stopping ? o_.lr_horizon : 0;
    spec.lr = s.lr;
    spec.min_lr = o_.min_lr;
    spec.warmup_fraction = o_.warmup_fraction;
    spec.weight_decay = o_.weight_decay;
    // The head alone has one layer: layer-wise decay only applies when the encoder trains.
    spec.layer_decay = s.head_only ? 1.0 : o_.layer_decay;
    spec.depth = static_cast<int>(model_->config().depth);
    specs.push_back(spec);
  }
  return specs;
}

engine::TrainingInput FinetuneTask::training_input() const {
  engine::TrainingInput in;
  in.path = o_.data;
  in.records = data_.train;
  in.labels = data_.labels;
  in.lead_rows = lead_rows_;
  in.crop_length = o_.crop_length;
  in.batch_size = o_.batch_size;
  in.seed = o_.seed;
  if (stmem_) in.transform = sharding::stmem_train_transform(stmem_);
  return in;
}

void FinetuneTask::resume(const engine::RunContext&, const model::LoadedCheckpoint& checkpoint,
                          const std::string& path) {
  check_resume_compatible(checkpoint.meta, o_, data_, path);
  state_ = checkpoint.meta.at("task_state").get<FinetuneState>();
  load_model_state(model_, checkpoint.state, path);
  // The best validation model so far lives beside the checkpoints, in best.ckpt. Without it the
  // run would end by testing whatever model it ended with, silently, so a resume without it (a
  // checkpoint copied alone) or with another run's best.ckpt is refused.
  if (state_.best_epoch > 0) {
    const auto best_path = (fs::path(o_.out) / "best.ckpt").string();
    ECG_CHECK(fs::exists(best_path),
              "{}: the checkpoint's best validation model (stage {} epoch {}) is {}, which does not "
              "exist: resume in the run folder that holds it, or copy best.ckpt with the checkpoint",
              path, state_.best_stage, state_.best_epoch, best_path);
    model::LoadedCheckpoint best = model::load_checkpoint(best_path);
    const nlohmann::json recorded = best.meta.value("best", nlohmann::json::object());
    const std::pair<int, int> in_file{recorded.value("stage", -1), recorded.value("epoch", -1)};
    const std::pair<int, int> expected{state_.best_stage, state_.best_epoch};
    // A later best is what a run killed after a new best but before its next checkpoint leaves;
    // the resumed run replays that epoch (deterministically) and writes it again. An earlier one
    // is a stale or foreign file.
    ECG_CHECK(in_file >= expected,
              "{}: field best is stage {} epoch {}, older than the stage {} epoch {} that the "
              "checkpoint {} records (a best.ckpt of another run or time)",
              best_path, in_file.first, in_file.second, expected.first, expected.second, path);
    if (in_file != expected) {
      log::warn("{} holds the best model of stage {} epoch {}, after the checkpoint's (stage {} "
                "epoch {}): the interrupted run got that far; this run replays it",
                best_path, in_file.first, in_file.second, expected.first, expected.second);
    }
    best_state_.assign(best.state.begin(), best.state.end());
  }
}

model::NamedTensors FinetuneTask::start_stage(size_t index) {
  const StagePlan& stage = stages_[index];
  model_->set_drop_path(stage.drop_path);
  model::NamedTensors trainable;
  for (auto& item : model_->named_parameters()) {
    const bool trains = !stage.head_only || item.key().rfind("head.", 0) == 0;
    item.value().set_requires_grad(trains);
    if (trains) trainable.emplace_back(item.key(), item.value());
  }
  return trainable;
}

torch::Tensor FinetuneTask::loss(const engine::DeviceBatch& batch, size_t index) {
  const torch::Tensor& x = batch.signals;
  const torch::Tensor& seed_tensor = batch.seeds;
  torch::Tensor logits;
  if (stages_[index].head_only) {
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
  return torch::binary_cross_entropy_with_logits(logits, batch.labels);
}

EvalSettings FinetuneTask::eval_settings(const engine::RunContext& run) const {
  return EvalSettings{o_.data, lead_rows_, o_.crop_length, o_.eval_crops,
                      std::max<int64_t>(1, o_.batch_size / run.comm.size()), o_.timeout, stmem_};
}

bool FinetuneTask::end_epoch(const engine::RunContext& run, const engine::EpochEnd& end) {
  const StagePlan& stage = stages_[end.stage_index];
  auto t0 = Clock::now();
  auto probs = predict_records(model_, run.comm, data_.val, eval_settings(run), run.watchdog, "validation");
  eval::LabelScores scores;
  scores.records = data_.val.size();
  scores.labels = static_cast<size_t>(data_.num_classes());
  scores.scores = std::move(probs);
  scores.targets = gather_targets(data_.labels.values, data_.num_classes(), data_.val);
  scores.names = data_.classes();
  eval::BootstrapOptions no_bootstrap;
  no_bootstrap.resamples = 0;
  eval::MetricReport report = eval::evaluate_metrics(scores, no_bootstrap);
  eval::HistoryRow row;
  row.epoch = end.epoch;
  row.stage = static_cast<int>(stage.stage);
  row.train_loss = end.train_loss;
  row.val_macro_auroc = report.macro_auroc;
  row.val_macro_auprc = report.macro_auprc;
  row.lr = end.lr;
  row.seconds = end.training_seconds + seconds_since(t0);
  state_.history.push_back(row);
  run.monitor.set_validation(report.macro_auroc, report.macro_auprc);
  log::info("stage {} epoch {}/{}: train_loss {:.4f}  val macro AUROC {:.4f}  AUPRC {:.4f}  ({:.1f} s)",
            row.stage, row.epoch, stage.epochs, row.train_loss, row.val_macro_auroc, row.val_macro_auprc,
            row.seconds);
  if (!stage.early_stopping) return false;
  // Past the stopping point (--record-after-stop) the epoch is only recorded: the early-stopped
  // model stays the one tested, as if training had ended there.
  if (state_.early_stop_epoch > 0) return false;

  eval::EarlyStopping stopper = state_.early_stopping.is_null()
                                    ? eval::EarlyStopping(o_.patience)
                                    : eval::EarlyStopping::from_json(state_.early_stopping);
  if (stopper.update(row.epoch, report.macro_auroc)) {
    state_.best_score = report.macro_auroc;
    state_.best_stage = row.stage;
    state_.best_epoch = row.epoch;
    best_state_ = engine::snapshot_state(*model_);
    save_best_checkpoint(run, stage);
  }
  state_.early_stopping = stopper.to_json();
  if (!stopper.should_stop()) return false;
  state_.stopped_early = true;
  state_.early_stop_epoch = row.epoch;
  if (o_.record_after_stop && row.epoch < stage.epochs) {
    log::info("early stopping at epoch {} (best {}): recording validation up to epoch {} (--record-after-stop)",
              row.epoch, state_.best_epoch, stage.epochs);
    return false;
  }
  return true;
}

nlohmann::json FinetuneTask::base_meta() const {
  nlohmann::json meta;
  meta["model_config"] = model_->config();
  meta["task"] = o_.task;
  meta["classes"] = data_.classes();
  meta["preprocessing"] = data_.file.manifest;
  meta["options"] = o_;
  return meta;
}

nlohmann::json FinetuneTask::checkpoint_meta() const {
  nlohmann::json meta = base_meta();
  meta["kind"] = "training";
  meta["task_state"] = state_;
  return meta;
}

void FinetuneTask::save_best_checkpoint(const engine::RunContext& run, const StagePlan& stage) {
  if (run.comm.rank() != 0) return;
  comm::WatchdogScope guard(run.watchdog, "checkpoint write", run.state.global_step, o_.timeout);
  nlohmann::json meta = base_meta();
  meta["kind"] = "best";
  meta["best"] = {{"stage", static_cast<int>(stage.stage)},
                  {"epoch", state_.best_epoch},
                  {"val_macro_auroc", state_.best_score}};
  model::save_checkpoint((fs::path(o_.out) / "best.ckpt").string(), meta, best_state_, nullptr);
}

void FinetuneTask::finish(const engine::RunContext& run) {
  if (!best_state_.empty()) {
    load_model_state(model_, std::map<std::string, torch::Tensor>(best_state_.begin(), best_state_.end()),
                     "best validation state");
  }
  auto probs = predict_records(model_, run.comm, data_.test, eval_settings(run), run.watchdog, "test evaluation");
  if (run.comm.rank() != 0) return;
  comm::WatchdogScope guard(run.watchdog, "test metrics", run.state.global_step, o_.timeout);
  const eval::MetricReport report = score_split(data_, data_.test, probs, o_.bootstrap, o_.seed,
                                                (fs::path(o_.out) / "test_predictions.csv").string());
  eval::write_history_csv((fs::path(o_.out) / "history.csv").string(), state_.history);
  eval::write_json_file((fs::path(o_.out) / "results.json").string(),
                        make_results_json(o_, data_, state_, run.state, report, run.comm.size(),
                                          seconds_since(start_)));
  log::info("test ({} records): macro AUROC {}  macro AUPRC {}", data_.test.size(),
            eval::format_with_ci(report.macro_auroc, report.macro_auroc_ci),
            eval::format_with_ci(report.macro_auprc, report.macro_auprc_ci));
}

}  // namespace

int run_training(comm::Communicator& comm, TrainOptions options,
                 const monitoring::MetricsOptions& metrics_options) {
  resolve_defaults(options);
  validate(options);
  FinetuneTask task(std::move(options));
  engine::Engine engine(comm, task.options(), metrics_options);
  return engine.run(task);
}

}  // namespace ecg::finetune
