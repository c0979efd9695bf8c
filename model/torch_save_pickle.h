// The pickle half of the torch.save reader (model/torch_save_reader.h): the data.pkl record of a
// torch.save file, which LibTorch 1.13's torch::pickle_load cannot read (no SETITEM, no
// collections.OrderedDict).
//
// The pickle is run by a small, closed virtual machine: it knows the opcodes torch.save emits
// (protocols 2-4) and a fixed allow-list of globals (OrderedDict, tensor/parameter rebuilders,
// typed storages). Anything else is rejected with an error naming the file and the opcode or
// global: unpickling must never execute arbitrary code named by a file.
//
// Files come from the internet, so everything a file can make the reader build is bounded (each
// limit is far above anything torch.save writes; going over it is one ecg::Error naming the file
// and the limit):
//  - containers nest at most kMaxPickleDepth deep, and a container cannot change once it is stored
//    inside another (so there are no cycles, and destroying the result recurses at most that deep);
//  - the values, memo entries and strings built cost at most kPickleMemoryPerByte bytes per byte of
//    data.pkl, plus kPickleMemoryFloor;
//  - tensor sizes, strides and offsets are checked with overflow-safe arithmetic against their
//    storage before any tensor is made, and tensors have at most kMaxTensorRank dimensions.
// (The bounds on storages are the file reader's: model/torch_save_reader.cpp.)
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ecg::model {

// Python's default recursion limit: pickle.dump, and so torch.save, cannot write deeper nesting.
inline constexpr int kMaxPickleDepth = 1000;
inline constexpr uint64_t kPickleMemoryPerByte = 64;
inline constexpr uint64_t kPickleMemoryFloor = uint64_t{64} << 20;
// PyTorch's own tensors rarely pass 8 dimensions (ST-MEM's have at most 3).
inline constexpr size_t kMaxTensorRank = 64;

// A decoded pickle value. Containers are shared (as Python references are), so memoised
// objects mutated later (SETITEMS after BINPUT) are seen everywhere.
struct PickleValue {
  // `storage`: a typed storage (a 1-d tensor over a whole data/<key> record), which only
  // _rebuild_tensor_v2 may consume; `tensor` is a view rebuilt from one.
  enum class Kind {
    none, boolean, integer, floating, string, tuple, list, dict, tensor, global, storage
  };
  using Items = std::vector<PickleValue>;
  using Entries = std::vector<std::pair<PickleValue, PickleValue>>;

  Kind kind = Kind::none;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                     // string, or "module.name" of a global
  std::shared_ptr<Items> items;      // tuple, list
  std::shared_ptr<Entries> entries;  // dict (insertion order kept)
  at::Tensor tensor;  // tensor, storage

  bool is(Kind k) const { return kind == k; }
  // The value under a string key of a dict, or nullptr.
  const PickleValue* find(const std::string& key) const;
  std::string describe() const;  // short type name for error messages
};

// Runs the pickle VM on a data.pkl blob; `load_storage(key, dtype, numel)` supplies the bytes of
// persistent storages (it is called once per distinct key). Exposed for tests.
PickleValue unpickle(const std::string& data, const std::string& origin,
                     const std::function<at::Tensor(const std::string& key, c10::ScalarType dtype,
                                                    int64_t numel)>& load_storage);

}  // namespace ecg::model
