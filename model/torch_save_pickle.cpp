#include "model/torch_save_pickle.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <unordered_map>

#include "common/error.h"
#include "model/torch_save_tensor.h"

namespace ecg::model {
namespace {

using Kind = PickleValue::Kind;

PickleValue make_int(int64_t v) {
  PickleValue p;
  p.kind = Kind::integer;
  p.i = v;
  return p;
}
PickleValue make_string(std::string s, Kind kind = Kind::string) {
  PickleValue p;
  p.kind = kind;
  p.s = std::move(s);
  return p;
}
PickleValue make_seq(Kind kind, PickleValue::Items items = {}) {
  PickleValue p;
  p.kind = kind;
  p.items = std::make_shared<PickleValue::Items>(std::move(items));
  return p;
}
PickleValue make_dict() {
  PickleValue p;
  p.kind = Kind::dict;
  p.entries = std::make_shared<PickleValue::Entries>();
  return p;
}
PickleValue make_tensor(at::Tensor t) {
  PickleValue p;
  p.kind = Kind::tensor;
  p.tensor = std::move(t);
  return p;
}

// The globals a state-dict checkpoint needs. Nothing else may be named by a file.
bool allowed_global(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_parameter" || storage_types().count(name) == 1;
}

// `origin` names the tensor, `what` the field.
std::vector<int64_t> int_tuple(const PickleValue& v, const std::string& what,
                               const std::string& origin) {
  ECG_CHECK(v.is(Kind::tuple) || v.is(Kind::list), "{}: {} must be a tuple of ints, got {}", origin,
            what, v.describe());
  ECG_CHECK(v.items->size() <= kMaxTensorRank, "{}: {} has {} dimensions, over the limit of {}",
            origin, what, v.items->size(), kMaxTensorRank);
  std::vector<int64_t> out;
  for (const auto& item : *v.items) {
    ECG_CHECK(item.is(Kind::integer), "{}: {} must be a tuple of ints, holds {}", origin, what,
              item.describe());
    out.push_back(item.i);
  }
  return out;
}

class Unpickler {
 public:
  Unpickler(const std::string& data, const std::string& origin,
            const std::function<at::Tensor(const std::string&, c10::ScalarType, int64_t)>& storage)
      : data_(data),
        origin_(origin),
        load_storage_(storage),
        memory_limit_(kPickleMemoryFloor + kPickleMemoryPerByte * data.size()) {}

  PickleValue run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = read_u8();
      switch (op) {
        case 0x80:
          read_u8();
          break;  // PROTO
        case 0x95:
          read_bytes(8);
          break;     // FRAME (protocol 4): length only
        case '.': {  // STOP
          ECG_CHECK(stack_.size() == 1, "{}: malformed pickle (stack holds {} values at STOP)",
                    origin_, stack_.size());
          return stack_.back();
        }
        case '}':
          push(make_dict());
          break;  // EMPTY_DICT
        case ']':
          push(make_seq(Kind::list));
          break;  // EMPTY_LIST
        case ')':
          push(make_seq(Kind::tuple));
          break;  // EMPTY_TUPLE
        case '(':
          charge(sizeof(size_t));
          marks_.push_back(stack_.size());
          break;  // MARK
        case 'X':
          push(make_string(read_bytes(read_u32())));
          break;  // BINUNICODE
        case 0x8c:
          push(make_string(read_bytes(read_u8())));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push(make_string(read_bytes(read_u64())));
          break;  // BINUNICODE8
        case 'T':
        case 'B':
          push(make_string(read_bytes(read_u32())));
          break;
        case 'U':
        case 'C':
          push(make_string(read_bytes(read_u8())));
          break;
        case 'J':
          push(make_int(static_cast<int32_t>(read_u32())));
          break;  // BININT
        case 'K':
          push(make_int(read_u8()));
          break;       // BININT1
        case 'M': {  // BININT2 (little-endian; two statements fix the order of the reads)
          const int lo = read_u8();
          push(make_int(lo | (read_u8() << 8)));
          break;
        }
        case 0x8a:
          push(make_int(read_long(read_u8())));
          break;     // LONG1
        case 'G': {  // BINFLOAT
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | read_u8();  // big-endian
          PickleValue v;
          v.kind = Kind::floating;
          std::memcpy(&v.f, &bits, sizeof(double));
          push(v);
          break;
        }
        case 0x88:
        case 0x89: {  // NEWTRUE / NEWFALSE
          PickleValue v;
          v.kind = Kind::boolean;
          v.b = op == 0x88;
          push(v);
          break;
        }
        case 'N':
          push(PickleValue{});
          break;  // NONE
        case 't':
          push(container(Kind::tuple, pop_mark(), at));
          break;  // TUPLE
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const size_t n = static_cast<size_t>(op - 0x84);
          need(n, op, at);
          PickleValue::Items items(std::make_move_iterator(stack_.end() - static_cast<long>(n)),
                                   std::make_move_iterator(stack_.end()));
          stack_.resize(stack_.size() - n);
          push(container(Kind::tuple, std::move(items), at));
          break;
        }
        case 'l':
          push(container(Kind::list, pop_mark(), at));
          break;     // LIST
        case 'd': {  // DICT
          auto items = pop_mark();
          auto dict = make_dict();
          set_items(dict, items, op, at);
          push(dict);
          break;
        }
        case 's': {  // SETITEM
          need(3, op, at);
          PickleValue::Items kv(std::make_move_iterator(stack_.end() - 2),
                                std::make_move_iterator(stack_.end()));
          stack_.resize(stack_.size() - 2);
          set_items(stack_.back(), kv, op, at);
          break;
        }
        case 'u': {  // SETITEMS
          auto kv = pop_mark();
          need(1, op, at);
          set_items(stack_.back(), kv, op, at);
          break;
        }
        case 'a': {  // APPEND
          need(2, op, at);
          PickleValue::Items items{pop()};
          append(stack_.back(), items, op, at);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_mark();
          need(1, op, at);
          append(stack_.back(), items, op, at);
          break;
        }
        case 'q':
          memo_put(read_u8(), op, at);
          break;  // BINPUT
        case 'r':
          memo_put(read_u32(), op, at);
          break;  // LONG_BINPUT
        case 0x94:
          memo_put(memo_.size(), op, at);
          break;  // MEMOIZE
        case 'h':
          push(memo_get(read_u8(), op, at));
          break;  // BINGET
        case 'j':
          push(memo_get(read_u32(), op, at));
          break;     // LONG_BINGET
        case 'c': {  // GLOBAL
          std::string module = read_line();
          std::string name = read_line();
          push_global(module + "." + name, at);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          need(2, op, at);
          PickleValue name = pop(), module = pop();
          ECG_CHECK(name.is(Kind::string) && module.is(Kind::string),
                    "{}: malformed pickle (STACK_GLOBAL needs two strings) at byte {}", origin_,
                    at);
          push_global(module.s + "." + name.s, at);
          break;
        }
        case 'R': {  // REDUCE
          need(2, op, at);
          PickleValue args = pop(), callable = pop();
          push(call(callable, args, at));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is allowed
          need(2, op, at);
          PickleValue args = pop(), cls = pop();
          push(call(cls, args, at));
          break;
        }
        case 'b': {  // BUILD: state for the object below; OrderedDict's _metadata is dropped
          need(2, op, at);
          PickleValue state = pop();
          const PickleValue& target = stack_.back();
          ECG_CHECK(target.is(Kind::dict) || target.is(Kind::tensor),
                    "{}: pickle BUILD on a {} is not supported (byte {})", origin_,
                    target.describe(), at);
          break;
        }
        case 'Q': {  // BINPERSID: ('storage', storage_type, key, location, numel)
          need(1, op, at);
          PickleValue pid = pop();
          push(persistent_load(pid, at));
          break;
        }
        case '0':
          need(1, op, at);
          stack_.pop_back();
          break;  // POP
        case '2':
          need(1, op, at);
          push(PickleValue(stack_.back()));
          break;  // DUP
        default:
          ECG_FAIL("{}: unsupported pickle opcode 0x{:02x} ('{}') at byte {}", origin_, op,
                   (op >= 0x20 && op < 0x7f) ? static_cast<char>(op) : '?', at);
      }
    }
  }

 private:
  // What the reader knows of each container it built (keyed by the shared payload, which
  // `keep_` holds until the end so that no address is reused while unpickling).
  struct ContainerInfo {
    int depth = 1;        // 1 for an empty container
    bool sealed = false;  // stored inside another container: may not change any more
  };

  uint8_t read_u8() {
    ECG_CHECK(pos_ < data_.size(), "{}: truncated pickle (ends at byte {})", origin_, pos_);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint32_t read_u32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= static_cast<uint32_t>(read_u8()) << (8 * k);
    return v;
  }
  uint64_t read_u64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= static_cast<uint64_t>(read_u8()) << (8 * k);
    return v;
  }
  std::string read_bytes(uint64_t n) {
    ECG_CHECK(n <= data_.size() - pos_, "{}: truncated pickle (a {}-byte field at byte {})",
              origin_, n, pos_);
    std::string out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::string read_line() {
    const size_t end = data_.find('\n', pos_);
    ECG_CHECK(end != std::string::npos, "{}: truncated pickle (GLOBAL at byte {})", origin_, pos_);
    std::string out = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }
  int64_t read_long(uint8_t n) {
    ECG_CHECK(n <= 8, "{}: integer of {} bytes does not fit in 64 bits (byte {})", origin_, n,
              pos_);
    uint64_t v = 0;
    for (uint8_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(read_u8()) << (8 * k);
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }

  // Counts the memory a value (or memo entry, index entry) costs against the file's budget:
  // copies made by DUP and BINGET count too, so a small file cannot multiply a large string.
  void charge(uint64_t bytes) {
    memory_used_ += bytes;
    ECG_CHECK(memory_used_ <= memory_limit_,
              "{}: the pickle builds more than {} bytes of values from {} bytes (the limit is {} "
              "per byte plus {}; near byte {})",
              origin_, memory_limit_, data_.size(), kPickleMemoryPerByte, kPickleMemoryFloor, pos_);
  }
  static uint64_t cost(const PickleValue& v) { return sizeof(PickleValue) + v.s.size(); }
  void push(PickleValue v) {
    charge(cost(v));
    stack_.push_back(std::move(v));
  }

  void need(size_t n, uint8_t op, size_t at) {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    ECG_CHECK(stack_.size() >= floor + n,
              "{}: malformed pickle (opcode 0x{:02x} at byte {} needs {} values)", origin_, op, at,
              n);
  }
  PickleValue pop() {
    PickleValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleValue::Items pop_mark() {
    ECG_CHECK(!marks_.empty(), "{}: malformed pickle (no MARK) near byte {}", origin_, pos_);
    const size_t mark = marks_.back();
    marks_.pop_back();
    PickleValue::Items items(std::make_move_iterator(stack_.begin() + static_cast<long>(mark)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }

  const void* payload(const PickleValue& v) const {
    if (v.is(Kind::tuple) || v.is(Kind::list)) return v.items.get();
    if (v.is(Kind::dict)) return v.entries.get();
    return nullptr;
  }
  ContainerInfo& info(const PickleValue& v) {
    const void* key = payload(v);
    auto it = containers_.find(key);
    if (it == containers_.end()) {
      charge(64);
      keep_.push_back(v.is(Kind::dict) ? std::shared_ptr<const void>(v.entries)
                                       : std::shared_ptr<const void>(v.items));
      it = containers_.emplace(key, ContainerInfo{}).first;
    }
    return it->second;
  }
  // `parent` takes `child` in (opcode `op` at byte `at`): the child is sealed, and the parent's
  // depth grows. A sealed parent is refused: that is how a structure would grow a cycle or grow
  // deeper behind the back of the containers that already hold it.
  void adopt(const PickleValue& parent, const PickleValue& child, uint8_t op, size_t at) {
    ContainerInfo& p = info(parent);
    ECG_CHECK(!p.sealed,
              "{}: pickle changes a {} after storing it in another container (opcode 0x{:02x} at "
              "byte {}); recursive structures are not supported",
              origin_, parent.describe(), op, at);
    if (payload(child) == nullptr) return;
    // Any other cycle needs a sealed container to change; a container inside itself does not.
    ECG_CHECK(payload(child) != payload(parent),
              "{}: pickle stores a {} inside itself (opcode 0x{:02x} at byte {}); recursive "
              "structures are not supported",
              origin_, parent.describe(), op, at);
    ContainerInfo& c = info(child);
    c.sealed = true;
    p.depth = std::max(p.depth, c.depth + 1);
    ECG_CHECK(p.depth <= kMaxPickleDepth,
              "{}: pickle containers nest deeper than the limit of {} (byte {})", origin_,
              kMaxPickleDepth, at);
  }
  PickleValue container(Kind kind, PickleValue::Items items, size_t at) {
    PickleValue out = make_seq(kind);
    for (const auto& item : items) adopt(out, item, kind == Kind::tuple ? 't' : 'l', at);
    *out.items = std::move(items);
    return out;
  }

  void set_items(PickleValue& dict, PickleValue::Items& kv, uint8_t op, size_t at) {
    ECG_CHECK(dict.is(Kind::dict) && kv.size() % 2 == 0,
              "{}: malformed pickle (opcode 0x{:02x} at byte {} on a {})", origin_, op, at,
              dict.describe());
    // Python keeps the last value of a repeated key; an index keeps that linear in the file.
    // (info() registers the dict, and so keeps its address from being reused by another one.)
    info(dict);
    auto& index = dict_index_[dict.entries.get()];
    for (size_t k = 0; k < kv.size(); k += 2) {
      adopt(dict, kv[k], op, at);
      adopt(dict, kv[k + 1], op, at);
      if (kv[k].is(Kind::string)) {
        auto it = index.find(kv[k].s);
        if (it != index.end()) {
          (*dict.entries)[it->second].second = std::move(kv[k + 1]);
          continue;
        }
        charge(64 + kv[k].s.size());
        index.emplace(kv[k].s, dict.entries->size());
      }
      dict.entries->emplace_back(std::move(kv[k]), std::move(kv[k + 1]));
    }
  }
  void append(PickleValue& list, PickleValue::Items& items, uint8_t op, size_t at) {
    ECG_CHECK(list.is(Kind::list), "{}: malformed pickle (opcode 0x{:02x} at byte {} on a {})",
              origin_, op, at, list.describe());
    for (auto& item : items) {
      adopt(list, item, op, at);
      list.items->push_back(std::move(item));
    }
  }
  void memo_put(uint64_t key, uint8_t op, size_t at) {
    need(1, op, at);
    charge(64 + cost(stack_.back()));
    memo_[key] = stack_.back();
  }
  PickleValue memo_get(uint64_t key, uint8_t op, size_t at) {
    auto it = memo_.find(key);
    ECG_CHECK(it != memo_.end(), "{}: malformed pickle (memo {} unset at byte {})", origin_, key,
              at);
    return it->second;
  }
  void push_global(const std::string& name, size_t at) {
    ECG_CHECK(allowed_global(name),
              "{}: refusing pickle global '{}' at byte {} (only state dicts of tensors can be "
              "loaded)",
              origin_, name, at);
    push(make_string(name, Kind::global));
  }

  // "<file>: tensor '<key>'" for the tensor being rebuilt: in a dict the key was pushed right
  // below the _rebuild_tensor_v2 global (looked for among the top few values only).
  std::string tensor_name(size_t at) const {
    const size_t lowest = stack_.size() > 8 ? stack_.size() - 8 : 1;
    for (size_t k = stack_.size(); k-- > lowest;) {
      if (stack_[k].is(Kind::global) && stack_[k].s == "torch._utils._rebuild_tensor_v2" &&
          stack_[k - 1].is(Kind::string)) {
        return fmt::format("{}: tensor '{}'", origin_, stack_[k - 1].s);
      }
    }
    if (!stack_.empty() && stack_.back().is(Kind::string)) {
      return fmt::format("{}: tensor '{}'", origin_, stack_.back().s);
    }
    return fmt::format("{}: tensor at byte {}", origin_, at);
  }

  PickleValue call(const PickleValue& callable, const PickleValue& args, size_t at) {
    ECG_CHECK(callable.is(Kind::global) && args.is(Kind::tuple),
              "{}: malformed pickle (REDUCE of a {} at byte {})", origin_, callable.describe(), at);
    const auto& a = *args.items;
    if (callable.s == "collections.OrderedDict") {
      ECG_CHECK(a.empty(), "{}: OrderedDict with arguments at byte {} is not supported", origin_,
                at);
      return make_dict();
    }
    if (callable.s == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const std::string what = tensor_name(at);
      ECG_CHECK(a.size() >= 4 && a[0].is(Kind::storage) && a[1].is(Kind::integer),
                "{}: malformed _rebuild_tensor_v2 arguments at byte {}", what, at);
      return make_tensor(rebuild_view(a[0].tensor, a[1].i, int_tuple(a[2], "size", what),
                                      int_tuple(a[3], "stride", what), what));
    }
    if (callable.s == "torch._utils._rebuild_parameter") {
      ECG_CHECK(!a.empty() && a[0].is(Kind::tensor),
                "{}: malformed _rebuild_parameter arguments at byte {}", origin_, at);
      return a[0];
    }
    ECG_FAIL("{}: pickle global '{}' cannot be called (byte {})", origin_, callable.s, at);
  }

  PickleValue persistent_load(const PickleValue& pid, size_t at) {
    ECG_CHECK(pid.is(Kind::tuple) && pid.items->size() == 5 && (*pid.items)[0].is(Kind::string) &&
                  (*pid.items)[0].s == "storage",
              "{}: unsupported persistent id ({}) at byte {}", origin_, pid.describe(), at);
    const auto& p = *pid.items;
    ECG_CHECK(p[1].is(Kind::global) && storage_types().count(p[1].s) == 1 &&
                  p[2].is(Kind::string) && p[4].is(Kind::integer),
              "{}: malformed storage reference at byte {}", origin_, at);
    const c10::ScalarType dtype = storage_types().at(p[1].s);
    ECG_CHECK(p[4].i >= 0, "{}: storage '{}' declares {} elements", tensor_name(at), p[2].s,
              p[4].i);
    auto it = storages_.find(p[2].s);
    if (it == storages_.end()) {
      at::Tensor storage = load_storage_(p[2].s, dtype, p[4].i);
      it = storages_.emplace(p[2].s, storage).first;
    }
    // torch.load keeps the first declaration; a file that declares one key twice differently is
    // forged (and the view checks must use the storage that is actually there).
    ECG_CHECK(it->second.scalar_type() == dtype && it->second.numel() == p[4].i,
              "{}: storage '{}' is declared again as {} x {} (first {} x {})", tensor_name(at),
              p[2].s, p[4].i, c10::toString(dtype), it->second.numel(),
              c10::toString(it->second.scalar_type()));
    PickleValue out = make_tensor(it->second);
    out.kind = Kind::storage;
    return out;
  }

  const std::string& data_;
  const std::string& origin_;
  const std::function<at::Tensor(const std::string&, c10::ScalarType, int64_t)>& load_storage_;
  const uint64_t memory_limit_;
  uint64_t memory_used_ = 0;
  size_t pos_ = 0;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue> memo_;
  std::map<std::string, at::Tensor> storages_;
  std::unordered_map<const void*, ContainerInfo> containers_;
  std::unordered_map<const void*, std::unordered_map<std::string, size_t>> dict_index_;
  std::vector<std::shared_ptr<const void>> keep_;
};

}  // namespace

const PickleValue* PickleValue::find(const std::string& key) const {
  if (!is(Kind::dict)) return nullptr;
  for (const auto& entry : *entries) {
    if (entry.first.is(Kind::string) && entry.first.s == key) return &entry.second;
  }
  return nullptr;
}

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
      return "int";
    case Kind::floating:
      return "float";
    case Kind::string:
      return "str";
    case Kind::tuple:
      return "tuple";
    case Kind::list:
      return "list";
    case Kind::dict:
      return "dict";
    case Kind::tensor:
      return "tensor";
    case Kind::global:
      return "global " + s;
    case Kind::storage:
      return "storage";
  }
  return "?";
}

PickleValue unpickle(
    const std::string& data, const std::string& origin,
    const std::function<at::Tensor(const std::string&, c10::ScalarType, int64_t)>& load_storage) {
  return Unpickler(data, origin, load_storage).run();
}

}  // namespace ecg::model
