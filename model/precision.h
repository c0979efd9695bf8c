// Mixed precision done explicitly in the model instead of by autocast (LibTorch 1.13's CPU
// autocast fails on ST-MEM: layer_norm gets a bf16 input with fp32 weights). Weights stay fp32
// (the master copy the optimiser updates); with bf16 the Linear layers and the attention matrix
// products compute in bf16, while LayerNorm, the residual stream and the loss stay fp32. The
// softmax takes and gives bf16 but computes in fp32 inside its kernel (one rounding, as an fp32
// softmax cast to bf16).
// The casts are ordinary autograd ops, so gradients reach the fp32 weights in fp32 and are
// all-reduced in fp32. fp32 runs exactly the operations of the plain model.
#pragma once

#include <torch/nn/modules/linear.h>

#include <nlohmann/json.hpp>
#include <string>

namespace ecg::model {

enum class Precision { fp32, bf16 };
NLOHMANN_JSON_SERIALIZE_ENUM(Precision, {{Precision::fp32, "fp32"}, {Precision::bf16, "bf16"}})
const char* precision_name(Precision precision);

// The dtype of the matrix products.
torch::ScalarType compute_dtype(Precision precision);

// `linear` applied in `dtype` (the result is in `dtype`); kFloat calls the module itself.
torch::Tensor linear_in(torch::nn::Linear& linear, const torch::Tensor& x, torch::ScalarType dtype);

// bf16 matrix products on the CPU need bf16 instructions (AVX512-BF16 or AMX) to be faster than
// fp32; without them this throws a one-line error saying so. `cpu_flags` is /proc/cpuinfo's
// "flags" line (empty: read it).
void check_bf16_cpu(const std::string& cpu_flags = "");

}  // namespace ecg::model
