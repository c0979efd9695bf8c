#include "sharding/stmem_transform.h"

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

}  // namespace ecg::sharding
