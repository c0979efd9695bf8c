#include "pretrain/pretrain_options.h"

#include "common/error.h"

namespace ecg::pretrain {

#define ECG_PRETRAIN_FIELDS(X)                                                                   \
  X(data) X(folds) X(val_folds) X(model) X(mask_ratio) X(norm_pix_loss) X(epochs) X(lr) X(min_lr) \
  X(warmup_fraction) X(weight_decay) X(batch_size) X(crop_length) X(seed) X(out) X(resume)        \
  X(threads) X(backend) X(bucket_mb) X(grad_dtype) X(device) X(precision) X(timeout) X(prefetch_depth) X(checkpoint_every_steps)      \
  X(checksum_every_steps) X(stop_signal) X(skip_nonfinite) X(max_steps) X(quiet)

void to_json(nlohmann::json& j, const PretrainOptions& o) {
  j = nlohmann::json::object();
#define X(name) j[#name] = o.name;
  ECG_PRETRAIN_FIELDS(X)
#undef X
}

void from_json(const nlohmann::json& j, PretrainOptions& o) {
#define X(name) \
  if (j.contains(#name)) j.at(#name).get_to(o.name);
  ECG_PRETRAIN_FIELDS(X)
#undef X
}

void validate(const PretrainOptions& o) {
  ECG_CHECK(!o.data.empty(), "--data is required");
  ECG_CHECK(o.model == "tiny" || o.model == "small" || o.model == "base",
            "--model must be tiny, small or base (got '{}')", o.model);
  ECG_CHECK(o.mask_ratio > 0 && o.mask_ratio < 1, "--mask-ratio must be in (0, 1) (got {})",
            o.mask_ratio);
  ECG_CHECK(o.epochs >= 1, "--epochs must be >= 1 (got {})", o.epochs);
  ECG_CHECK(o.lr > 0 && o.min_lr >= 0 && o.min_lr <= o.lr, "--lr must be positive and >= --min-lr");
  ECG_CHECK(o.warmup_fraction >= 0 && o.warmup_fraction < 1, "--warmup-fraction must be in [0, 1)");
  ECG_CHECK(o.weight_decay >= 0, "--weight-decay must be >= 0");
  ECG_CHECK(o.batch_size > 0, "--batch-size must be positive (got {})", o.batch_size);
  ECG_CHECK(o.crop_length > 0 && o.crop_length % model::kPatchSamples == 0,
            "--crop-length must be a positive multiple of the {}-sample patch (got {})", model::kPatchSamples,
            o.crop_length);
  for (int f : o.val_folds) {
    for (int g : o.folds) {
      ECG_CHECK(f != g, "fold {} is in both --folds and --val-folds", f);
    }
  }
  engine::validate_engine(o);
}

}  // namespace ecg::pretrain
