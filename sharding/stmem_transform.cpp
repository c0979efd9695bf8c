#include "sharding/stmem_transform.h"

#include <vector>

#include "common/error.h"

namespace ecg::sharding {

SampleTransform stmem_train_transform(std::shared_ptr<const data::StMemInput> input) {
  ECG_CHECK(input != nullptr, "st-mem train transform: no StMemInput");
  return [input](const SampleItem& item, const float* in, int leads, int64_t in_samples, float* out,
                 int64_t out_samples) {
    const data::StMemInputSpec& spec = input->spec();
    ECG_CHECK(leads == spec.leads && out_samples == spec.crop_samples,
              "st-mem train transform: expects {} leads -> {} samples, got {} leads -> {} samples",
              spec.leads, spec.crop_samples, leads, out_samples);
    input->prepare_train_crop(in, in_samples, item.seed, out);
  };
}

SampleTransform stmem_center_transform(std::shared_ptr<const data::StMemInput> input) {
  ECG_CHECK(input != nullptr, "st-mem centre transform: no StMemInput");
  return [input](const SampleItem&, const float* in, int leads, int64_t in_samples, float* out,
                 int64_t out_samples) {
    const data::StMemInputSpec& spec = input->spec();
    ECG_CHECK(leads == spec.leads && out_samples == spec.crop_samples && in_samples >= out_samples,
              "st-mem centre transform: expects {} leads -> {} samples, got {} leads, {} -> {} samples",
              spec.leads, spec.crop_samples, leads, in_samples, out_samples);
    std::vector<double> window(static_cast<size_t>(leads) * static_cast<size_t>(out_samples));
    input->filter_and_standardize(in, in_samples, (in_samples - out_samples) / 2, window.data());
    for (size_t i = 0; i < window.size(); ++i) out[i] = static_cast<float>(window[i]);
  };
}

}  // namespace ecg::sharding
