#include "trainer/pretrain/pretrain_options.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "common/error.h"

namespace ecg::pretrain {

#define ECG_PRETRAIN_FIELDS(X)                                                                   \
  X(data) X(folds) X(val_folds) X(model) X(mask_ratio) X(norm_pix_loss) X(epochs) X(lr) X(min_lr) \
  X(warmup_fraction) X(weight_decay) X(batch_size) X(crop_length) X(seed) X(profile)

void to_json(nlohmann::json& j, const PretrainOptions& o) {
  j = nlohmann::json::object();
  engine::engine_fields_to_json(j, o);
#define X(name) j[#name] = o.name;
  ECG_PRETRAIN_FIELDS(X)
#undef X
}

void from_json(const nlohmann::json& j, PretrainOptions& o) {
  engine::engine_fields_from_json(j, o);
#define X(name) \
  if (j.contains(#name)) j.at(#name).get_to(o.name);
  ECG_PRETRAIN_FIELDS(X)
#undef X
}

void validate(const PretrainOptions& o) {
  ECG_CHECK(!o.data.empty(), "--data is required");
  const std::vector<std::string> sizes = model::model_size_names();
  ECG_CHECK(std::find(sizes.begin(), sizes.end(), o.model) != sizes.end(), "--model must be one of {} (got '{}')",
            fmt::join(sizes, ", "), o.model);
  ECG_CHECK(o.mask_ratio > 0 && o.mask_ratio < 1, "--mask-ratio must be in (0, 1) (got {})",
            o.mask_ratio);
  ECG_CHECK(o.epochs >= 1, "--epochs must be >= 1 (got {})", o.epochs);
  engine::validate_schedule({o.lr, o.min_lr, o.warmup_fraction, o.weight_decay, o.batch_size});
  ECG_CHECK(o.crop_length > 0 && o.crop_length % model::kPatchSamples == 0,
            "--crop-length must be a positive multiple of the {}-sample patch (got {})", model::kPatchSamples,
            o.crop_length);
  ECG_CHECK(o.profile != engine::InputProfile::st_mem ||
                o.crop_length == static_cast<int>(data::StMemInputSpec{}.crop_samples),
            "--crop-length {} is not allowed with --profile st-mem (ST-MEM crops {} samples)", o.crop_length,
            data::StMemInputSpec{}.crop_samples);
  for (int f : o.val_folds) {
    for (int g : o.folds) {
      ECG_CHECK(f != g, "fold {} is in both --folds and --val-folds", f);
    }
  }
  engine::validate_engine(o);
}

}  // namespace ecg::pretrain
