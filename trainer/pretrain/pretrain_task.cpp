#include "trainer/pretrain/pretrain_task.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "comm/watchdog.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stopwatch.h"
#include "data/dataset_info.h"
#include "data/manifest.h"
#include "trainer/engine/checkpoint_files.h"
#include "trainer/engine/engine.h"
#include "trainer/engine/eval_pass.h"
#include "eval/run_outputs.h"
#include "model/checkpoint.h"
#include "model/state_dict.h"
#include "sharding/epoch_sampler.h"
#include "sharding/prefetcher.h"
#include "sharding/stmem_transform.h"

namespace fs = std::filesystem;

namespace ecg::pretrain {
namespace {

using Clock = SteadyClock;

// Sampler epoch key of the held-out masks: fixed, so every evaluation uses the same masks.
constexpr int64_t kHeldoutMaskEpoch = 7777777;

std::vector<uint64_t> item_seeds(const std::vector<sharding::SampleItem>& items) {
  std::vector<uint64_t> seeds;
  seeds.reserve(items.size());
  for (const auto& item : items) seeds.push_back(item.seed);
  return seeds;
}

std::vector<int64_t> records_of_folds(const data::DatasetInfo& data, const std::vector<int>& folds) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < data.n_records; ++i) {
    const int f = data.fold[static_cast<size_t>(i)];
    if (folds.empty() || std::find(folds.begin(), folds.end(), f) != folds.end()) out.push_back(i);
  }
  return out;
}

// Masks are drawn on the host from the samples' seeds; the model uses them where it lives.
model::LeadMasks on_device(model::LeadMasks masks, torch::Device device) {
  masks.keep_ids = masks.keep_ids.to(device);
  masks.restore_ids = masks.restore_ids.to(device);
  masks.mask = masks.mask.to(device);
  return masks;
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

class PretrainTask final : public engine::Task {
 public:
  explicit PretrainTask(PretrainOptions options) : o_(std::move(options)), start_(Clock::now()) {}
  const PretrainOptions& options() const { return o_; }

  const char* command() const override { return "pretrain"; }
  nlohmann::json options_json() const override { return o_; }
  void prepare(const engine::RunContext& run) override;
  torch::nn::Module& build_model(const engine::RunContext& run) override;
  std::vector<engine::StageSpec> plan() const override;
  engine::TrainingInput training_input() const override;
  void begin(const engine::RunContext& run) override;
  void resume(const engine::RunContext& run, const model::LoadedCheckpoint& checkpoint,
              const std::string& path) override;
  model::NamedTensors start_stage(size_t index) override;
  torch::Tensor loss(const engine::DeviceBatch& batch, size_t index) override;
  bool end_epoch(const engine::RunContext& run, const engine::EpochEnd& end) override;
  nlohmann::json checkpoint_meta() const override;
  void finish(const engine::RunContext& run) override;

 private:
  double validation_loss(const engine::RunContext& run);
  nlohmann::json base_meta() const;

  PretrainOptions o_;
  Clock::time_point start_;
  data::DatasetInfo data_;
  std::vector<int64_t> train_records_, val_records_;
  model::StMemPretrain model_{nullptr};
  std::shared_ptr<const data::StMemInput> stmem_;  // --profile st-mem's pipeline, else null
  std::vector<PretrainEpoch> history_;
  double initial_val_loss_ = -1;
};

void PretrainTask::prepare(const engine::RunContext& run) {
  data_ = data::read_dataset_info(o_.data);  // no label is read
  ECG_CHECK(o_.crop_length <= data_.n_samples, "{}: records have {} samples, fewer than the crop of {}",
            o_.data, data_.n_samples, o_.crop_length);
  model::check_model_input(data_.path, data_.sampling_rate, data_.leads);
  engine::check_profile_data(o_.profile, data_.manifest, o_.data);
  if (o_.profile == engine::InputProfile::st_mem) {
    stmem_ = engine::make_stmem_input(static_cast<int>(data_.leads.size()), 1, /*rand_augment=*/false);
  }
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
  if (run.comm.rank() == 0) {
    log::info("data: {} records in the file, {} to pretrain on, {} held out", data_.n_records,
              train_records_.size(), val_records_.size());
  }
}

torch::nn::Module& PretrainTask::build_model(const engine::RunContext&) {
  model::PretrainConfig config = model::PretrainConfig::preset(o_.model);
  config.mask_ratio = o_.mask_ratio;
  config.norm_pix_loss = o_.norm_pix_loss;
  torch::manual_seed(o_.seed);
  model_ = model::StMemPretrain(config);
  model_->set_precision(o_.precision);
  return *model_;
}

std::vector<engine::StageSpec> PretrainTask::plan() const {
  engine::StageSpec spec;
  spec.stage = engine::Stage::pretraining;
  spec.epochs = o_.epochs;
  spec.lr = o_.lr;
  spec.min_lr = o_.min_lr;
  spec.warmup_fraction = o_.warmup_fraction;
  spec.weight_decay = o_.weight_decay;
  spec.depth = static_cast<int>(model_->config().encoder.depth);
  // MAE / ST-MEM pretraining betas.
  spec.beta1 = 0.9;
  spec.beta2 = 0.95;
  return {spec};
}

engine::TrainingInput PretrainTask::training_input() const {
  engine::TrainingInput in;
  in.path = o_.data;
  in.records = train_records_;
  in.crop_length = o_.crop_length;
  in.batch_size = o_.batch_size;
  in.seed = o_.seed;
  if (stmem_) in.transform = sharding::stmem_train_transform(stmem_);
  return in;
}

void PretrainTask::begin(const engine::RunContext& run) {
  if (val_records_.empty()) return;
  initial_val_loss_ = validation_loss(run);
  log::info("held-out reconstruction loss before pretraining: {:.4f}", initial_val_loss_);
}

void PretrainTask::resume(const engine::RunContext&, const model::LoadedCheckpoint& checkpoint,
                          const std::string& path) {
  const auto& meta = checkpoint.meta;
  ECG_CHECK(meta.value("kind", "") == "pretraining", "--resume {}: not a pretraining checkpoint", path);
  nlohmann::json saved = meta.at("options");
  if (!saved.contains("profile")) saved["profile"] = engine::InputProfile::standard;  // before --profile
  engine::check_same_settings(saved, nlohmann::json(o_),
                              {"model", "seed", "batch_size", "lr", "min_lr", "epochs", "mask_ratio",
                               "norm_pix_loss", "folds", "val_folds", "crop_length", "weight_decay",
                               "warmup_fraction", "profile"},
                              path);
  data::check_same_preprocessing(meta.at("preprocessing"), nlohmann::json(data_.manifest), path, data_.path);
  for (const auto& row : meta.at("history")) history_.push_back(epoch_from_json(row));
  initial_val_loss_ = meta.value("initial_val_loss", -1.0);
  try {
    model::load_module_state(*model_, checkpoint.state, "the pretraining model");
  } catch (const Error& e) {
    ECG_FAIL("--resume {}: {}", path, e.message());
  }
}

model::NamedTensors PretrainTask::start_stage(size_t) {
  model::NamedTensors trainable;
  for (auto& item : model_->named_parameters()) {
    if (item.value().requires_grad()) trainable.emplace_back(item.key(), item.value());
  }
  return trainable;
}

torch::Tensor PretrainTask::loss(const engine::DeviceBatch& batch, size_t) {
  const sharding::Batch& host = *batch.host;
  const int64_t patches = host.samples / model_->config().encoder.patch_size;
  auto masks = on_device(model::random_lead_masks(item_seeds(host.items), host.leads, patches, o_.mask_ratio),
                         batch.signals.device());
  model_->train();
  return model_->forward(batch.signals, masks).loss;
}

double PretrainTask::validation_loss(const engine::RunContext& run) {
  if (val_records_.empty()) return -1;
  return heldout_reconstruction_loss(model_, run.comm, o_.data, val_records_, o_.crop_length,
                                     std::max<int64_t>(1, o_.batch_size / run.comm.size()), o_.seed,
                                     run.watchdog, o_.timeout,
                                     stmem_ ? sharding::stmem_center_transform(stmem_)
                                            : sharding::center_crop_transform());
}

bool PretrainTask::end_epoch(const engine::RunContext& run, const engine::EpochEnd& end) {
  auto t0 = Clock::now();
  PretrainEpoch row;
  row.epoch = end.epoch;
  row.train_loss = end.train_loss;
  row.val_loss = validation_loss(run);
  row.lr = end.lr;
  row.seconds = end.training_seconds + seconds_since(t0);
  history_.push_back(row);
  log::info("pretrain epoch {}/{}: reconstruction loss {:.4f}{}  ({:.1f} s)", row.epoch, o_.epochs,
            row.train_loss, row.val_loss >= 0 ? fmt::format("  held-out {:.4f}", row.val_loss) : "",
            row.seconds);
  return false;
}

nlohmann::json PretrainTask::base_meta() const {
  nlohmann::json meta;
  meta["pretrain_config"] = model_->config();
  model::StMemConfig encoder = model_->config().encoder;
  encoder.num_classes = 1;
  meta["model_config"] = encoder;
  meta["preprocessing"] = data_.manifest;
  meta["options"] = o_;
  return meta;
}

nlohmann::json PretrainTask::checkpoint_meta() const {
  nlohmann::json meta = base_meta();
  meta["kind"] = "pretraining";
  meta["initial_val_loss"] = initial_val_loss_;
  meta["history"] = nlohmann::json::array();
  for (const auto& row : history_) meta["history"].push_back(epoch_json(row));
  return meta;
}

void PretrainTask::finish(const engine::RunContext& run) {
  if (run.comm.rank() != 0) return;
  comm::WatchdogScope guard(run.watchdog, "pretraining outputs", run.state.global_step, o_.timeout);
  const double final_train_loss = history_.empty() ? NAN : history_.back().train_loss;
  const double final_val_loss = history_.empty() ? -1.0 : history_.back().val_loss;
  const std::string encoder_path = (fs::path(o_.out) / "encoder.ckpt").string();
  // The encoder under its own (ST-MEM) names: "encoder." stripped, the unused head left out.
  model::NamedTensors encoder;
  for (auto& [name, tensor] : engine::snapshot_state(*model_->encoder())) {
    if (name.rfind("head.", 0) != 0) encoder.emplace_back(name, tensor);
  }
  nlohmann::json meta = base_meta();
  meta["kind"] = "encoder";
  meta["pretraining"] = {{"epochs", run.state.epoch},
                         {"steps", run.state.global_step},
                         {"final_train_loss", final_train_loss},
                         {"final_val_loss", final_val_loss},
                         {"initial_val_loss", initial_val_loss_}};
  model::save_checkpoint(encoder_path, meta, encoder, nullptr);

  std::string csv = "epoch,train_loss,val_loss,lr,seconds\n";
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& r : history_) {
    csv += fmt::format("{},{:.6f},{},{:.6g},{:.3f}\n", r.epoch, r.train_loss,
                       r.val_loss >= 0 ? fmt::format("{:.6f}", r.val_loss) : "", r.lr, r.seconds);
    epochs.push_back(epoch_json(r));
  }
  write_file_atomically((fs::path(o_.out) / "pretrain_history.csv").string(), csv, "history CSV");
  nlohmann::json results;
  results["kind"] = "pretraining";
  results["options"] = o_;
  results["pretrain_config"] = model_->config();
  results["world_size"] = run.comm.size();
  results["records"] = {{"pretrain", train_records_.size()}, {"held_out", val_records_.size()}};
  results["history"] = epochs;
  results["initial_val_loss"] = initial_val_loss_;
  results["final_train_loss"] = final_train_loss;
  results["final_val_loss"] = final_val_loss;
  results["encoder"] = encoder_path;
  results["steps"] = run.state.global_step;
  results["samples_per_second"] = run.state.samples_per_second();
  results["gradient_allreduce"] = engine::allreduce_json(run.state, o_.grad_dtype);
  results["wall_seconds"] = seconds_since(start_);
  eval::write_json_file((fs::path(o_.out) / "results.json").string(), results);
  log::info("pretraining done: {} steps, reconstruction loss {:.4f}{}; encoder written to {}",
            run.state.global_step, final_train_loss,
            initial_val_loss_ >= 0 ? fmt::format(", held-out {:.4f} -> {:.4f}", initial_val_loss_, final_val_loss)
                                   : "",
            encoder_path);
}

}  // namespace

double heldout_reconstruction_loss(model::StMemPretrain& model, comm::Communicator& comm,
                                   const std::string& path, const std::vector<int64_t>& records,
                                   int64_t crop, int64_t batch, uint64_t seed, comm::Watchdog* watchdog,
                                   double timeout, sharding::SampleTransform transform) {
  engine::EvalPass pass;
  pass.path = path;
  pass.records = records;
  pass.batch = batch;
  pass.crop_samples = crop;
  pass.transform = std::move(transform);
  pass.seed = seed;  // the masks of a record are the same every epoch: losses compare across epochs
  pass.seed_epoch = kHeldoutMaskEpoch;
  pass.phase = "held-out reconstruction loss";
  pass.timeout = timeout;
  const int64_t p = model->config().encoder.patch_size;
  const torch::Device device = model->encoder()->pos_embedding().device();
  double sums[2] = {0.0, 0.0};  // masked-patch squared error, masked patches
  engine::run_eval_pass(*model, device, comm, watchdog, pass, [&](const engine::DeviceBatch& staged) {
    const sharding::Batch& b = *staged.host;
    auto masks = on_device(model::random_lead_masks(item_seeds(b.items), b.leads, b.samples / p,
                                                    model->config().mask_ratio),
                           device);
    auto out = model->forward(staged.signals, masks);
    const double masked = masks.mask.sum().item<double>();
    sums[0] += out.loss.item<double>() * masked;
    sums[1] += masked;
  });
  comm.all_reduce_host(sums, 2, comm::DType::f64, comm::ReduceOp::sum, "held-out loss");
  ECG_CHECK(sums[1] > 0, "held-out reconstruction loss: no masked patch");
  return sums[0] / sums[1];
}

int run_pretraining(comm::Communicator& comm, PretrainOptions options,
                    const monitoring::MetricsOptions& metrics_options) {
  validate(options);
  PretrainTask task(std::move(options));
  engine::Engine engine(comm, task.options(), metrics_options);
  return engine.run(task);
}

}  // namespace ecg::pretrain
