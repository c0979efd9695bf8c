#include "model/precision.h"

#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "common/error.h"

namespace ecg::model {
namespace {

std::string cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return line;
  }
  return "";
}

bool has_flag(const std::string& flags, const std::string& flag) {
  std::istringstream words(flags);
  std::string word;
  while (words >> word) {
    if (word == flag) return true;
  }
  return false;
}

}  // namespace

const char* precision_name(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

torch::ScalarType compute_dtype(Precision precision) {
  return precision == Precision::bf16 ? torch::kBFloat16 : torch::kFloat;
}

torch::Tensor linear_in(torch::nn::Linear& linear, const torch::Tensor& x, torch::ScalarType dtype) {
  if (dtype == torch::kFloat) return linear->forward(x);
  const auto& bias = linear->bias;
  return torch::nn::functional::linear(x.to(dtype), linear->weight.to(dtype),
                                       bias.defined() ? bias.to(dtype) : bias);
}

void check_bf16_cpu(const std::string& cpu_flags) {
  const std::string flags = cpu_flags.empty() ? cpuinfo_flags() : cpu_flags;
  ECG_CHECK(has_flag(flags, "avx512_bf16") || has_flag(flags, "amx_bf16"),
            "--precision bf16: this CPU has no bf16 instructions (neither avx512_bf16 nor amx_bf16 in "
            "/proc/cpuinfo), so bf16 would run slower than fp32; use --precision fp32");
}

}  // namespace ecg::model
