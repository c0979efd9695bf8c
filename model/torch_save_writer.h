// Writes tensors as a file that Python's torch.load reads: the zip container of torch.save with
// data.pkl = collections.OrderedDict(name -> tensor) (pickle protocol 2, tensors rebuilt by
// torch._utils._rebuild_tensor_v2 from persistent storages data/<k>), plus the version record.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace ecg::model {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The file appears atomically (temp name + fsync + rename). Tensors may live on any device and be
// non-contiguous; each is stored contiguous, on the CPU, in its own storage.
void write_torch_save(const std::string& path, const NamedTensors& tensors);

// The data.pkl bytes for `tensors` (storage keys "0", "1", ... in order). Exposed for tests.
std::string pickle_state_dict(const NamedTensors& tensors);

}  // namespace ecg::model
