// What a torch.save pickle says about tensors, checked before LibTorch sees any of it: the storage
// classes it may name, the bytes a storage declares, and the strided views _rebuild_tensor_v2
// builds over a storage. A forged file can put any 64-bit value in a size, stride, offset or
// element count; LibTorch's own checks overflow on such values (or throw with a backtrace), so
// every product and sum here is overflow-checked and every failure is one ecg::Error line.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ecg::model {

// "torch.FloatStorage" -> float, ... (the storage classes torch.save names).
const std::map<std::string, c10::ScalarType>& storage_types();

// numel elements of dtype, in bytes; fails (naming `what`) on a negative count or on overflow.
uint64_t storage_bytes(c10::ScalarType dtype, int64_t numel, const std::string& what);

// storage.as_strided(size, stride, offset) once the view is known to lie inside `storage` (a 1-d
// tensor over a whole storage). `what` names the tensor in errors ("<file>: tensor 'key'").
at::Tensor rebuild_view(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& size,
                        const std::vector<int64_t>& stride, const std::string& what);

}  // namespace ecg::model
