// Writes tensors as a file that Python's torch.load reads: the zip container of torch.save with
// data.pkl = collections.OrderedDict(name -> tensor) (pickle protocol 2, tensors rebuilt by
// torch._utils._rebuild_tensor_v2 from persistent storages data/<k>), plus the version record.
#pragma once

#include <ATen/Tensor.h>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ecg::model {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes a zip archive (LibTorch's writers: torch::serialize or PyTorchStreamWriter) to `path`
// atomically. `fill` gets the byte sink to hand to the writer, and `failed()` to stop early. The
// sink never reports a short write: after one (a full disk) LibTorch's zip writer would throw again
// from its destructor and terminate the process. The first write error, else any zip error, is
// thrown once everything is closed, as one line naming `path` and `what` ("checkpoint", ...); the
// temp file is removed and a previous file at `path` is kept.
using ByteSink = std::function<size_t(const void* data, size_t size)>;
void write_archive_atomically(const std::string& path, const std::string& what,
                              const std::function<void(const ByteSink& sink, const std::function<bool()>& failed)>& fill);

// Records written beside data.pkl and the storages: (name below the archive folder, bytes).
// torch.load reads only data.pkl and the storages it names, so such a record (our export's
// metadata, model/checkpoint.h) leaves the file loadable by PyTorch.
using ExtraRecords = std::vector<std::pair<std::string, std::string>>;

// The file appears atomically (temp name + fsync + rename). Tensors may live on any device and be
// non-contiguous; each is stored contiguous, on the CPU, in its own storage.
void write_torch_save(const std::string& path, const NamedTensors& tensors, const ExtraRecords& extra = {});

// The data.pkl bytes for `tensors` (storage keys "0", "1", ... in order). Exposed for tests.
std::string pickle_state_dict(const NamedTensors& tensors);

}  // namespace ecg::model
