// The ONLY place that knows which backend moves gradients. ECGDIST_HAVE_NCCL is defined (for
// this file alone) by comm/CMakeLists.txt when CUDA + NCCL were found.
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "common/error.h"
#include "common/log.h"

#if ECGDIST_HAVE_NCCL
#include "comm/nccl_communicator.h"
#endif

namespace ecg::comm {

bool nccl_backend_built() {
#if ECGDIST_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

bool cuda_device_visible(std::string* why) {
#if ECGDIST_HAVE_NCCL
  return nccl_cuda_device_visible(why);
#else
  if (why) *why = "this ecgdist was built without CUDA/NCCL";
  return false;
#endif
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend,
                                                double timeout_seconds) {
  ECG_CHECK(backend == "auto" || backend == "mpi" || backend == "nccl",
            "--backend: unknown backend '{}' (expected auto, mpi or nccl)", backend);
  std::string why;
  const bool gpu = (backend != "mpi") && cuda_device_visible(&why);
  if (backend == "nccl") {
    ECG_CHECK(nccl_backend_built(), "--backend nccl: {}", why);
    ECG_CHECK(gpu, "--backend nccl: no usable CUDA device: {}", why);
  }
#if ECGDIST_HAVE_NCCL
  if (gpu) return std::make_unique<NcclCommunicator>(timeout_seconds);
#endif
  if (backend == "auto") ecg::log::debug("communicator: MPI ({})", why.empty() ? "asked" : why);
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

}  // namespace ecg::comm
