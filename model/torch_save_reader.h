// A reader for files written by Python's torch.save (zip container + pickle), which LibTorch
// 1.13's torch::pickle_load cannot read (no SETITEM, no collections.OrderedDict).
//
// The pickle is run by a small, closed virtual machine: it knows the opcodes torch.save emits
// (protocols 2-4) and a fixed allow-list of globals (OrderedDict, tensor/parameter rebuilders,
// typed storages). Anything else is rejected with an error naming the file and the opcode or
// global: unpickling must never execute arbitrary code named by a file.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ecg::model {

// A decoded pickle value. Containers are shared (as Python references are), so memoised
// objects mutated later (SETITEMS after BINPUT) are seen everywhere.
struct PickleValue {
  enum class Kind { none, boolean, integer, floating, string, tuple, list, dict, tensor, global };
  using Items = std::vector<PickleValue>;
  using Entries = std::vector<std::pair<PickleValue, PickleValue>>;

  Kind kind = Kind::none;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                     // string, or "module.name" of a global
  std::shared_ptr<Items> items;      // tuple, list
  std::shared_ptr<Entries> entries;  // dict (insertion order kept)
  at::Tensor tensor;

  bool is(Kind k) const { return kind == k; }
  // The value under a string key of a dict, or nullptr.
  const PickleValue* find(const std::string& key) const;
  std::string describe() const;  // short type name for error messages
};

// Reads the whole object stored by torch.save at `path`. Tensors are CPU tensors whatever the
// device they were saved from (cuda:N storages load to the CPU). Throws ecg::Error naming the
// file on anything unreadable or not allowed.
PickleValue read_torch_save(const std::string& path);

// Runs the pickle VM on a data.pkl blob; `load_storage(key, dtype, numel)` supplies the bytes of
// persistent storages. Exposed for tests.
PickleValue unpickle(const std::string& data, const std::string& origin,
                     const std::function<at::Tensor(const std::string& key, c10::ScalarType dtype,
                                                    int64_t numel)>& load_storage);

}  // namespace ecg::model
