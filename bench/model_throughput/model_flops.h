// Matrix-product FLOPs of one training sample of the ST-MEM models, for model FLOP utilisation
// (bench/gpu/vit_flops.py is the same count for the classifier). Elementwise work, norms,
// softmax and the optimiser are not counted, as usual for MFU. A training step is 3x the forward
// (input and weight gradients each cost a forward) except the patch embedding, whose input needs
// no gradient (2x).
#pragma once

#include <cstdint>

#include "model/st_mem_config.h"
#include "model/st_mem_pretrain.h"

namespace ecg::bench {

// One transformer block over `tokens` tokens of width `width` in sequences of `seq` tokens
// (attention is within a sequence), inner attention width `inner`, MLP width `mlp`.
double block_flops(double tokens, double seq, double width, double inner, double mlp);

// The classifier (fine-tuning's step): forward + backward of one sample.
double classify_train_flops(const model::StMemConfig& c);

// The masked model (pretraining's step): encoder on the kept patches, decoder per lead.
double pretrain_train_flops(const model::PretrainConfig& c);

}  // namespace ecg::bench
