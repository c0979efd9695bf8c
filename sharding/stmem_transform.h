// ST-MEM's training crop as a prefetcher transform (`--profile st-mem` of train and pretrain): on the
// prefetcher's worker threads, each sample's record becomes StMemInput::prepare_train_crop's
// random 2,250-sample crop, band-passed, standardised and RandAugment-ed, all draws from
// item.seed = sample_seed(seed, epoch, record), so a resumed or rescaled run sees the same crops.
#pragma once

#include <memory>

#include "data/signal/stmem_input.h"
#include "sharding/prefetcher.h"

namespace ecg::sharding {

// `input` is shared by all worker threads (its methods are const and thread-safe). The transform
// refuses a call whose lead count or output length differs from input's spec (one line).
SampleTransform stmem_train_transform(std::shared_ptr<const data::StMemInput> input);

// The deterministic counterpart for pretraining's held-out loss: the centre crop, band-passed and
// standardised like a training crop (no augmentation), so held-out losses compare across epochs.
SampleTransform stmem_center_transform(std::shared_ptr<const data::StMemInput> input);

}  // namespace ecg::sharding
