#include "trainer/finetune/train_options.h"

#include <algorithm>

#include "common/error.h"

namespace ecg::finetune {

#define ECG_OPT_FIELDS(X)                                                                       \
  X(data) X(task) X(leads) X(train_fraction) X(train_folds) X(val_fold) X(test_fold) X(model)    \
  X(init) X(init_head) X(dropout) X(recipe) X(lp_epochs) X(lp_lr) X(epochs) X(patience) X(record_after_stop) X(lr_horizon) X(lr) X(min_lr)       \
  X(warmup_fraction) X(weight_decay) X(layer_decay) X(drop_path) X(batch_size) X(eval_crops)      \
  X(crop_length) X(bootstrap) X(seed) X(profile) X(from_profile)

void to_json(nlohmann::json& j, const TrainOptions& o) {
  j = nlohmann::json::object();
  engine::engine_fields_to_json(j, o);
#define X(name) j[#name] = o.name;
  ECG_OPT_FIELDS(X)
#undef X
}

void from_json(const nlohmann::json& j, TrainOptions& o) {
  engine::engine_fields_from_json(j, o);
#define X(name) \
  if (j.contains(#name)) j.at(#name).get_to(o.name);
  ECG_OPT_FIELDS(X)
#undef X
}

void resolve_defaults(TrainOptions& o) {
  if (o.drop_path < 0) o.drop_path = default_drop_path(o.recipe);
}

void validate(const TrainOptions& o) {
  ECG_CHECK(!o.data.empty(), "--data is required");
  ECG_CHECK(o.train_fraction > 0 && o.train_fraction <= 1.0, "--train-fraction must be in (0, 1] (got {})",
            o.train_fraction);
  ECG_CHECK(o.epochs >= 0 && o.lp_epochs >= 0, "--epochs and --lp-epochs must be >= 0");
  ECG_CHECK(o.lr_horizon >= 0, "--lr-horizon must be >= 0 epochs (0 = --epochs; got {})", o.lr_horizon);
  ECG_CHECK(o.recipe != Recipe::linear_probe || o.lp_epochs > 0 || o.epochs > 0,
            "--recipe linear-probe needs --lp-epochs > 0");
  ECG_CHECK(o.drop_path >= 0 && o.drop_path < 1, "--drop-path must be in [0, 1) (got {})", o.drop_path);
  ECG_CHECK(o.lp_lr > 0, "--lp-lr must be positive (got {})", o.lp_lr);
  ECG_CHECK(o.layer_decay > 0 && o.layer_decay <= 1, "--layer-decay must be in (0, 1] (got {})",
            o.layer_decay);
  ECG_CHECK(o.crop_length > 0 && o.crop_length % model::kPatchSamples == 0 && o.crop_length <= model::kInputSamples,
            "--crop-length must be a multiple of the {}-sample patch up to {} (got {})", model::kPatchSamples,
            model::kInputSamples, o.crop_length);
  // ST-MEM's model input is 2,250 samples and its pipeline (filters, standardisation, eval crops)
  // is defined on such crops.
  ECG_CHECK(o.profile != InputProfile::st_mem || o.crop_length == static_cast<int>(data::StMemInputSpec{}.crop_samples),
            "--crop-length {} is not allowed with --profile st-mem (ST-MEM crops {} samples)", o.crop_length,
            data::StMemInputSpec{}.crop_samples);
  ECG_CHECK(o.eval_crops >= 1, "--eval-crops must be >= 1 (got {})", o.eval_crops);
  ECG_CHECK(o.bootstrap >= 0, "--bootstrap must be >= 0");
  engine::validate_schedule({o.lr, o.min_lr, o.warmup_fraction, o.weight_decay, o.batch_size});
  engine::validate_engine(o);
}

}  // namespace ecg::finetune
