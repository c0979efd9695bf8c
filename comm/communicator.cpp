// The non-virtual helpers of the Communicator interface: blocking forms built on the async ones,
// so every backend gets the same timeout behaviour for free.
#include "comm/communicator.h"

#include "common/error.h"

namespace ecg::comm {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::f64:
    case DType::i64:
      return 8;
    case DType::u8:
      return 1;
    case DType::bf16:
      return 2;
  }
  ECG_FAIL("unknown DType {}", static_cast<int>(t));
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::i32:
      return "i32";
    case DType::i64:
      return "i64";
    case DType::u8:
      return "u8";
    case DType::bf16:
      return "bf16";
  }
  return "?";
}

void Communicator::all_reduce(void* data, size_t count, DType type, ReduceOp op,
                              const std::string& what) {
  all_reduce_async(data, count, type, op, what)->wait();
}

double Communicator::all_reduce_scalar(double value, ReduceOp op, const std::string& what) {
  // The scalar lives in host memory; a device backend routes this through its host path.
  all_reduce_host(&value, 1, DType::f64, op, what);
  return value;
}

void Communicator::all_reduce_host(void* data, size_t count, DType type, ReduceOp op,
                                   const std::string& what) {
  ECG_CHECK(device() == Device::cpu,
            "all_reduce_host ('{}'): backend {} must override it for host buffers", what,
            backend());
  all_reduce(data, count, type, op, what);
}

}  // namespace ecg::comm
