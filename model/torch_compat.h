#pragma once
// The one place that knows which LibTorch it is built against. Debian 12's CPU LibTorch 1.13 is the
// default build; GPU nodes build against a CUDA LibTorch 2.x (scripts/check-cuda-build.sh checks
// Debian 13's 2.6). Where the two differ in API or in a default that changes results, the rest of
// the code calls a helper here instead of testing versions itself.
#include <torch/optim/optimizer.h>
#include <torch/version.h>

namespace ecg::model {

// Optimizer::zero_grad() zeroes the gradients in 1.13; from 2.0 it defaults to set_to_none=true,
// and AdamW then skips (no moment update, no weight decay) a parameter whose gradient stayed
// undefined in that step instead of stepping it with a zero gradient. Zeroing keeps one behaviour
// for both versions (tests/trainer/engine/behaviour_golden.py compares against 1.13's numbers).
inline void zero_grad_keep(torch::optim::Optimizer& optimizer) {
#if TORCH_VERSION_MAJOR >= 2
  optimizer.zero_grad(/*set_to_none=*/false);
#else
  optimizer.zero_grad();
#endif
}

}  // namespace ecg::model
