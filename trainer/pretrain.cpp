#include "trainer/pretrain.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "comm/watchdog.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "model/state_dict.h"
#include "sharding/epoch_sampler.h"
#include "sharding/prefetcher.h"
#include "trainer/checkpoint.h"
#include "trainer/grad_buckets.h"
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

// Sampler epoch key of the held-out masks: fixed, so every evaluation uses the same masks.
constexpr int64_t kHeldoutMaskEpoch = 7777777;

std::vector<uint64_t> item_seeds(const std::vector<sharding::SampleItem>& items) {
  std::vector<uint64_t> seeds;
  seeds.reserve(items.size());
  for (const auto& item : items) seeds.push_back(item.seed);
  return seeds;
}

std::vector<int64_t> records_of_folds(const TaskData& data, const std::vector<int>& folds) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < data.num_records; ++i) {
    const int f = data.fold[static_cast<size_t>(i)];
    if (folds.empty() || std::find(folds.begin(), folds.end(), f) != folds.end()) out.push_back(i);
  }
  return out;
}

struct PretrainEpoch {
  int epoch = 0;
  double train_loss = 0;
  double val_loss = -1;  // -1: no --val-folds
  double lr = 0;
  double seconds = 0;
};

nlohmann::json epoch_json(const PretrainEpoch& e) {
  return {{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_loss", e.val_loss},
          {"lr", e.lr},       {"seconds", e.seconds}};
}

PretrainEpoch epoch_from_json(const nlohmann::json& j) {
  return {j.at("epoch").get<int>(), j.at("train_loss").get<double>(), j.at("val_loss").get<double>(),
          j.at("lr").get<double>(), j.at("seconds").get<double>()};
}

class Pretrainer {
 public:
  Pretrainer(comm::Communicator& comm, PretrainOptions options, const monitoring::MetricsOptions& mopts)
      : comm_(comm), o_(std::move(options)), mopts_(mopts) {}
  int run();

 private:
  void prepare();
  void build();
  void resume();
  bool run_epoch();
  void train_step(sharding::Batch& batch, int64_t steps_per_epoch);
  double validation_loss();
  void end_epoch();
  nlohmann::json base_meta() const;
  void save_training_checkpoint();
  void finish();
  StepLoop step_loop() { return StepLoop{comm_, o_, watchdog_.get(), *monitor_, state_, o_.batch_size}; }

  comm::Communicator& comm_;
  PretrainOptions o_;
  monitoring::MetricsOptions mopts_;
  TaskData data_;
  std::vector<int64_t> train_records_, val_records_;
  model::StMemPretrain model_{nullptr};
  std::unique_ptr<comm::Watchdog> watchdog_;
  std::unique_ptr<RunMonitor> monitor_;
  std::vector<ParamGroupSpec> groups_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<GradBuckets> buckets_;
  WarmupCosineSchedule schedule_;
  std::unique_ptr<sharding::EpochSampler> sampler_;
  TrainState state_;
  std::vector<PretrainEpoch> history_;
  double initial_val_loss_ = -1;
  std::string resume_from_;
  Clock::time_point run_start_;
};

void Pretrainer::prepare() {
  validate(o_);
  watchdog_ = start_engine(comm_, o_);

  data_ = load_unlabelled_data(o_.data);  // no label is read
  ECG_CHECK(o_.crop_length <= data_.num_samples, "{}: records have {} samples, fewer than the crop of {}",
            o_.data, data_.num_samples, o_.crop_length);
  check_data_for_model(data_);
  train_records_ = records_of_folds(data_, o_.folds);
  if (!o_.val_folds.empty()) {
    val_records_ = records_of_folds(data_, o_.val_folds);
    // Held-out folds are never trained on, also when --folds is "all".
    std::vector<int64_t> kept;
    for (int64_t r : train_records_) {
      const int f = data_.fold[static_cast<size_t>(r)];
      if (std::find(o_.val_folds.begin(), o_.val_folds.end(), f) == o_.val_folds.end()) kept.push_back(r);
    }
    train_records_ = std::move(kept);
    ECG_CHECK(!val_records_.empty(), "{}: no record in --val-folds {}", o_.data, fmt::join(o_.val_folds, ","));
  }
  ECG_CHECK(static_cast<int64_t>(train_records_.size()) >= o_.batch_size,
            "{}: {} records to pretrain on (--folds {}), fewer than --batch-size {}", o_.data,
            train_records_.size(), o_.folds.empty() ? "all" : fmt::format("{}", fmt::join(o_.folds, ",")),
            o_.batch_size);
  if (comm_.rank() == 0) {
    nlohmann::json resolved = o_;
    resolved["world_size"] = comm_.size();
    resolved["backend"] = comm_.backend();
    log::info("ecgdist pretrain: resolved configuration\n{}", resolved.dump(2));
    log::info("data: {} records in the file, {} to pretrain on, {} held out", data_.num_records,
              train_records_.size(), val_records_.size());
  }
  resume_from_ = resolve_resume_path(o_);
}

void Pretrainer::build() {
  model::PretrainConfig config = model::PretrainConfig::preset(o_.model);
  config.mask_ratio = o_.mask_ratio;
  config.norm_pix_loss = o_.norm_pix_loss;
  torch::manual_seed(o_.seed);
  model_ = model::StMemPretrain(config);
  broadcast_parameters(comm_, *model_);

  std::vector<std::pair<std::string, torch::Tensor>> trainable;
  for (auto& item : model_->named_parameters()) {
    if (item.value().requires_grad()) trainable.emplace_back(item.key(), item.value());
  }
  groups_ = make_param_groups(trainable, static_cast<int>(config.encoder.depth), o_.weight_decay, 1.0);
  optimizer_ = make_adamw(groups_, o_.lr, 0.9, 0.95);
  if (comm_.size() > 1) {
    buckets_ = std::make_unique<GradBuckets>(comm_, trainable_in_registration_order(*model_),
                                             static_cast<size_t>(o_.bucket_mb * 1024 * 1024));
  }
  sampler_ = std::make_unique<sharding::EpochSampler>(train_records_, o_.seed, o_.batch_size, comm_.size(),
                                                      comm_.rank());
  const int64_t total = std::max<int64_t>(2, sampler_->steps_per_epoch() * o_.epochs);
  schedule_ = warmup_cosine(o_.lr, o_.min_lr, total, o_.warmup_fraction);
  monitor_->set_stage(0);
}

void Pretrainer::resume() {
  LoadedCheckpoint ck = load_checkpoint(resume_from_, optimizer_.get());
  const auto& meta = ck.meta;
  ECG_CHECK(meta.value("kind", "") == "pretraining", "--resume {}: not a pretraining checkpoint", resume_from_);
  check_same_settings(meta.at("options"), nlohmann::json(o_),
                      {"model", "seed", "batch_size", "lr", "min_lr", "epochs", "mask_ratio", "norm_pix_loss",
                       "folds", "val_folds", "crop_length", "weight_decay", "warmup_fraction"},
                      resume_from_);
  check_manifest_matches(meta.at("preprocessing"), data_.manifest, resume_from_, data_.path);
  state_ = meta.at("state").get<TrainState>();
  for (const auto& row : meta.at("history")) history_.push_back(epoch_from_json(row));
  initial_val_loss_ = meta.value("initial_val_loss", -1.0);
  try {
    model::load_module_state(*model_, ck.state, "the pretraining model");
  } catch (const Error& e) {
    ECG_FAIL("--resume {}: {}", resume_from_, e.message());
  }
  log::info("resuming pretraining from {} (epoch {}, step {})", resume_from_, state_.epoch + 1, state_.step);
}

void Pretrainer::train_step(sharding::Batch& batch, int64_t steps_per_epoch) {
  monitoring::StepTimes times;
  times.data_wait = batch.wait_seconds;
  const double lr = schedule_.lr(state_.epoch * steps_per_epoch + state_.step);
  apply_lr(*optimizer_, groups_, lr);

  auto t0 = Clock::now();
  auto x = torch::from_blob(batch.signals.data(), {batch.size, batch.leads, batch.samples}, torch::kFloat32);
  const int64_t patches = batch.samples / model_->config().encoder.patch_size;
  auto masks = model::random_lead_masks(item_seeds(batch.items), batch.leads, patches, o_.mask_ratio);
  model_->train();
  auto loss = model_->forward(x, masks).loss;
  times.forward = seconds_since(t0);

  auto t1 = Clock::now();
  optimizer_->zero_grad();
  loss.backward();
  times.backward = seconds_since(t1);

  StepLoop loop = step_loop();
  complete_step(loop, buckets_.get(), *optimizer_, loss, times, batch.size, lr, "pretraining");
}

bool Pretrainer::run_epoch() {
  sampler_->set_epoch(state_.epoch);
  const int64_t steps = sampler_->steps_per_epoch();
  sharding::PrefetchConfig config;
  config.crop_samples = o_.crop_length;
  config.depth = o_.prefetch_depth;
  config.worker_threads = 1;
  sharding::Prefetcher prefetcher(o_.data, sampler_->batches_from(state_.step), sharding::LabelMatrix{},
                                  config);
  monitor_->set_epoch(0, state_.epoch, o_.epochs, steps - state_.step);
  StepLoop loop = step_loop();
  return run_batches(
      loop, prefetcher, *model_, steps, [&](sharding::Batch& batch) { train_step(batch, steps); },
      [this] { save_training_checkpoint(); });
}

double Pretrainer::validation_loss() {
  if (val_records_.empty()) return -1;
  return heldout_reconstruction_loss(model_, comm_, o_.data, val_records_, o_.crop_length,
                                     std::max<int64_t>(1, o_.batch_size / comm_.size()), o_.seed,
                                     watchdog_.get(), o_.timeout);
}

void Pretrainer::end_epoch() {
  auto t0 = Clock::now();
  PretrainEpoch row;
  row.epoch = state_.epoch + 1;
  row.train_loss = state_.epoch_mean_loss();
  row.val_loss = validation_loss();
  row.lr = schedule_.lr(std::min(state_.global_step, schedule_.total_steps));
  row.seconds = state_.epoch_seconds + seconds_since(t0);
  history_.push_back(row);
  state_.train_seconds += row.seconds;
  log::info("pretrain epoch {}/{}: reconstruction loss {:.4f}{}  ({:.1f} s)", row.epoch, o_.epochs,
            row.train_loss, row.val_loss >= 0 ? fmt::format("  held-out {:.4f}", row.val_loss) : "",
            row.seconds);
  monitor_->end_epoch();
  state_.next_epoch();
}

nlohmann::json Pretrainer::base_meta() const {
  nlohmann::json meta;
  meta["pretrain_config"] = model_->config();
  model::StMemConfig encoder = model_->config().encoder;
  encoder.num_classes = 1;
  meta["model_config"] = encoder;
  meta["preprocessing"] = data_.manifest;
  meta["options"] = o_;
  return meta;
}

void Pretrainer::save_training_checkpoint() {
  nlohmann::json meta = base_meta();
  meta["kind"] = "pretraining";
  meta["initial_val_loss"] = initial_val_loss_;
  meta["history"] = nlohmann::json::array();
  for (const auto& row : history_) meta["history"].push_back(epoch_json(row));
  StepLoop loop = step_loop();
  write_step_checkpoint(loop, meta, *model_, *optimizer_);
}

void Pretrainer::finish() {
  if (comm_.rank() == 0) {
    comm::WatchdogScope guard(watchdog_.get(), "pretraining outputs", state_.global_step, o_.timeout);
    const double final_train_loss = history_.empty() ? NAN : history_.back().train_loss;
    const double final_val_loss = history_.empty() ? -1.0 : history_.back().val_loss;
    const std::string encoder_path = (fs::path(o_.out) / "encoder.ckpt").string();
    // The encoder under its own (ST-MEM) names: "encoder." stripped, the unused head left out.
    NamedTensors encoder;
    for (auto& [name, tensor] : snapshot_state(*model_->encoder())) {
      if (name.rfind("head.", 0) != 0) encoder.emplace_back(name, tensor);
    }
    nlohmann::json meta = base_meta();
    meta["kind"] = "encoder";
    meta["pretraining"] = {{"epochs", state_.epoch},
                           {"steps", state_.global_step},
                           {"final_train_loss", final_train_loss},
                           {"final_val_loss", final_val_loss},
                           {"initial_val_loss", initial_val_loss_}};
    save_checkpoint(encoder_path, meta, encoder, nullptr);

    std::string csv = "epoch,train_loss,val_loss,lr,seconds\n";
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& r : history_) {
      csv += fmt::format("{},{:.6f},{},{:.6g},{:.3f}\n", r.epoch, r.train_loss,
                         r.val_loss >= 0 ? fmt::format("{:.6f}", r.val_loss) : "", r.lr, r.seconds);
      epochs.push_back(epoch_json(r));
    }
    write_file_atomically((fs::path(o_.out) / "pretrain_history.csv").string(), csv);
    nlohmann::json results;
    results["kind"] = "pretraining";
    results["options"] = o_;
    results["pretrain_config"] = model_->config();
    results["world_size"] = comm_.size();
    results["records"] = {{"pretrain", train_records_.size()}, {"held_out", val_records_.size()}};
    results["history"] = epochs;
    results["initial_val_loss"] = initial_val_loss_;
    results["final_train_loss"] = final_train_loss;
    results["final_val_loss"] = final_val_loss;
    results["encoder"] = encoder_path;
    results["steps"] = state_.global_step;
    results["samples_per_second"] = state_.step_seconds > 0 ? state_.samples_seen / state_.step_seconds : 0.0;
    results["wall_seconds"] = seconds_since(run_start_);
    write_json_file((fs::path(o_.out) / "results.json").string(), results);
    log::info("pretraining done: {} steps, reconstruction loss {:.4f}{}; encoder written to {}",
              state_.global_step, final_train_loss,
              initial_val_loss_ >= 0 ? fmt::format(", held-out {:.4f} -> {:.4f}", initial_val_loss_, final_val_loss)
                                     : "",
              encoder_path);
  }
  comm_.barrier("pretraining outputs written");
}

int Pretrainer::run() {
  run_start_ = Clock::now();
  monitor_ = std::make_unique<RunMonitor>(comm_, mopts_, o_.quiet);
  prepare();
  build();
  if (!resume_from_.empty()) {
    resume();
  } else if (!val_records_.empty()) {
    initial_val_loss_ = validation_loss();
    log::info("held-out reconstruction loss before pretraining: {:.4f}", initial_val_loss_);
  }
  while (state_.epoch < o_.epochs) {
    if (!run_epoch()) {
      save_training_checkpoint();
      log::info("stopped at step {}: checkpoint written to {}; resume with --resume auto", state_.global_step,
                newest_checkpoint(o_.out));
      return kPreemptedExitCode;
    }
    end_epoch();
    save_training_checkpoint();
  }
  finish();
  return 0;
}

}  // namespace

double heldout_reconstruction_loss(model::StMemPretrain& model, comm::Communicator& comm,
                                   const std::string& path, const std::vector<int64_t>& records,
                                   int64_t crop, int64_t batch, uint64_t seed, comm::Watchdog* watchdog,
                                   double timeout) {
  auto shard = sharding::eval_partition(records, comm.size(), comm.rank());
  double sums[2] = {0.0, 0.0};  // masked-patch squared error, masked patches
  {
    comm::WatchdogScope guard(watchdog, "held-out reconstruction loss", 0, timeout);
    const bool was_training = model->is_training();
    model->eval();
    torch::NoGradGuard no_grad;
    sharding::PrefetchConfig config;
    config.crop_samples = crop;
    config.transform = sharding::center_crop_transform();
    config.depth = 2;
    config.worker_threads = 1;
    sharding::Prefetcher prefetcher(path, sharding::eval_batches(shard.records, batch, seed, kHeldoutMaskEpoch),
                                    sharding::LabelMatrix{}, config);
    const int64_t p = model->config().encoder.patch_size;
    while (!prefetcher.done()) {
      sharding::Batch b = prefetcher.next();
      auto x = torch::from_blob(b.signals.data(), {b.size, b.leads, b.samples}, torch::kFloat32);
      auto masks = model::random_lead_masks(item_seeds(b.items), b.leads, b.samples / p,
                                            model->config().mask_ratio);
      auto out = model->forward(x, masks);
      const double masked = masks.mask.sum().item<double>();
      sums[0] += out.loss.item<double>() * masked;
      sums[1] += masked;
    }
    if (was_training) model->train();
  }
  comm.all_reduce_host(sums, 2, comm::DType::f64, comm::ReduceOp::sum, "held-out loss");
  ECG_CHECK(sums[1] > 0, "held-out reconstruction loss: no masked patch");
  return sums[0] / sums[1];
}

int run_pretraining(comm::Communicator& comm, PretrainOptions options,
                    const monitoring::MetricsOptions& metrics_options) {
  Pretrainer pretrainer(comm, std::move(options), metrics_options);
  return pretrainer.run();
}

}  // namespace ecg::trainer
