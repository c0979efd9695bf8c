#include "model/torch_save_tensor.h"

#include <c10/core/ScalarType.h>

#include <limits>

#include "common/error.h"

namespace ecg::model {

// torch.<Name>Storage -> element type.
const std::map<std::string, c10::ScalarType>& storage_types() {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", c10::kFloat},
      {"torch.DoubleStorage", c10::kDouble},
      {"torch.HalfStorage", c10::kHalf},
      {"torch.BFloat16Storage", c10::kBFloat16},
      {"torch.LongStorage", c10::kLong},
      {"torch.IntStorage", c10::kInt},
      {"torch.ShortStorage", c10::kShort},
      {"torch.CharStorage", c10::kChar},
      {"torch.ByteStorage", c10::kByte},
      {"torch.BoolStorage", c10::kBool},
      {"torch.ComplexFloatStorage", c10::kComplexFloat},
      {"torch.ComplexDoubleStorage", c10::kComplexDouble}};
  return types;
}

uint64_t storage_bytes(c10::ScalarType dtype, int64_t numel, const std::string& what) {
  uint64_t bytes = 0;
  ECG_CHECK(numel >= 0 && !__builtin_mul_overflow(static_cast<uint64_t>(numel),
                                                  c10::elementSize(dtype), &bytes),
            "{} declares {} elements of {}", what, numel, c10::toString(dtype));
  return bytes;
}

at::Tensor rebuild_view(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& size,
                        const std::vector<int64_t>& stride, const std::string& what) {
  ECG_CHECK(size.size() == stride.size(), "{}: size has {} dimensions, stride {}", what,
            size.size(), stride.size());
  ECG_CHECK(offset >= 0, "{}: storage_offset {} is negative", what, offset);
  int64_t numel = 1;
  int64_t last = offset;  // the last storage element the view addresses
  for (size_t d = 0; d < size.size(); ++d) {
    ECG_CHECK(size[d] >= 0, "{}: size[{}] = {} is negative", what, d, size[d]);
    ECG_CHECK(stride[d] >= 0, "{}: stride[{}] = {} is negative", what, d, stride[d]);
    ECG_CHECK(!__builtin_mul_overflow(numel, size[d], &numel),
              "{}: the element count overflows 64 bits at size[{}] = {}", what, d, size[d]);
    int64_t span = 0;
    if (size[d] > 0) {
      ECG_CHECK(!__builtin_mul_overflow(size[d] - 1, stride[d], &span) &&
                    !__builtin_add_overflow(last, span, &last),
                "{}: size[{}] = {} with stride {} overflows 64 bits", what, d, size[d], stride[d]);
    }
  }
  const auto element = static_cast<int64_t>(c10::elementSize(storage.scalar_type()));
  ECG_CHECK(numel <= std::numeric_limits<int64_t>::max() / element,
            "{}: {} elements overflow 64-bit byte counts", what, numel);
  if (numel == 0) {
    ECG_CHECK(offset <= storage.numel(), "{}: storage_offset {} is beyond its {}-element storage",
              what, offset, storage.numel());
  } else {
    ECG_CHECK(last < storage.numel(),
              "{}: reaches element {} (storage_offset {}) of its {}-element storage", what, last,
              offset, storage.numel());
  }
  return storage.as_strided(size, stride, offset);
}

}  // namespace ecg::model
