#include "model/torch_save_reader.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <map>
#include <unordered_map>

#include "common/error.h"

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

// The globals a state-dict checkpoint needs. Nothing else may be named by a file.
bool allowed_global(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_parameter" || storage_types().count(name) == 1;
}

std::vector<int64_t> int_tuple(const PickleValue& v, const std::string& what,
                               const std::string& origin) {
  ECG_CHECK(v.is(Kind::tuple) || v.is(Kind::list), "{}: {} must be a tuple of ints, got {}", origin,
            what, v.describe());
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
      : data_(data), origin_(origin), load_storage_(storage) {}

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
          stack_.push_back(make_dict());
          break;  // EMPTY_DICT
        case ']':
          stack_.push_back(make_seq(Kind::list));
          break;  // EMPTY_LIST
        case ')':
          stack_.push_back(make_seq(Kind::tuple));
          break;  // EMPTY_TUPLE
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case 'X':
          stack_.push_back(make_string(read_bytes(read_u32())));
          break;  // BINUNICODE
        case 0x8c:
          stack_.push_back(make_string(read_bytes(read_u8())));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          stack_.push_back(make_string(read_bytes(read_u64())));
          break;  // BINUNICODE8
        case 'T':
        case 'B':
          stack_.push_back(make_string(read_bytes(read_u32())));
          break;
        case 'U':
        case 'C':
          stack_.push_back(make_string(read_bytes(read_u8())));
          break;
        case 'J':
          stack_.push_back(make_int(static_cast<int32_t>(read_u32())));
          break;  // BININT
        case 'K':
          stack_.push_back(make_int(read_u8()));
          break;  // BININT1
        case 'M':
          stack_.push_back(make_int(read_u8() | (read_u8() << 8)));
          break;  // BININT2
        case 0x8a:
          stack_.push_back(make_int(read_long(read_u8())));
          break;     // LONG1
        case 'G': {  // BINFLOAT
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | read_u8();  // big-endian
          PickleValue v;
          v.kind = Kind::floating;
          std::memcpy(&v.f, &bits, sizeof(double));
          stack_.push_back(v);
          break;
        }
        case 0x88:
        case 0x89: {  // NEWTRUE / NEWFALSE
          PickleValue v;
          v.kind = Kind::boolean;
          v.b = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'N':
          stack_.push_back(PickleValue{});
          break;  // NONE
        case 't':
          stack_.push_back(make_seq(Kind::tuple, pop_mark()));
          break;  // TUPLE
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const size_t n = static_cast<size_t>(op - 0x84);
          need(n, op, at);
          PickleValue::Items items(stack_.end() - static_cast<long>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          stack_.push_back(make_seq(Kind::tuple, std::move(items)));
          break;
        }
        case 'l':
          stack_.push_back(make_seq(Kind::list, pop_mark()));
          break;     // LIST
        case 'd': {  // DICT
          auto items = pop_mark();
          auto dict = make_dict();
          set_items(dict, items, op, at);
          stack_.push_back(dict);
          break;
        }
        case 's': {  // SETITEM
          need(3, op, at);
          PickleValue::Items kv(stack_.end() - 2, stack_.end());
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
          PickleValue v = pop();
          append(stack_.back(), {v}, op, at);
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
          stack_.push_back(memo_get(read_u8(), op, at));
          break;  // BINGET
        case 'j':
          stack_.push_back(memo_get(read_u32(), op, at));
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
          stack_.push_back(call(callable, args, at));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is allowed
          need(2, op, at);
          PickleValue args = pop(), cls = pop();
          stack_.push_back(call(cls, args, at));
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
          stack_.push_back(persistent_load(pop(), at));
          break;
        }
        case '0':
          need(1, op, at);
          stack_.pop_back();
          break;  // POP
        case '2':
          need(1, op, at);
          stack_.push_back(stack_.back());
          break;  // DUP
        default:
          ECG_FAIL("{}: unsupported pickle opcode 0x{:02x} ('{}') at byte {}", origin_, op,
                   (op >= 0x20 && op < 0x7f) ? static_cast<char>(op) : '?', at);
      }
    }
  }

 private:
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
    PickleValue::Items items(stack_.begin() + static_cast<long>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void set_items(PickleValue& dict, const PickleValue::Items& kv, uint8_t op, size_t at) {
    ECG_CHECK(dict.is(Kind::dict) && kv.size() % 2 == 0,
              "{}: malformed pickle (opcode 0x{:02x} at byte {} on a {})", origin_, op, at,
              dict.describe());
    for (size_t k = 0; k < kv.size(); k += 2) {
      bool replaced = false;
      if (kv[k].is(Kind::string)) {
        for (auto& entry : *dict.entries) {
          if (entry.first.is(Kind::string) && entry.first.s == kv[k].s) {
            entry.second = kv[k + 1];
            replaced = true;
            break;
          }
        }
      }
      if (!replaced) dict.entries->emplace_back(kv[k], kv[k + 1]);
    }
  }
  void append(PickleValue& list, const PickleValue::Items& items, uint8_t op, size_t at) {
    ECG_CHECK(list.is(Kind::list), "{}: malformed pickle (opcode 0x{:02x} at byte {} on a {})",
              origin_, op, at, list.describe());
    list.items->insert(list.items->end(), items.begin(), items.end());
  }
  void memo_put(uint64_t key, uint8_t op, size_t at) {
    need(1, op, at);
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
    stack_.push_back(make_string(name, Kind::global));
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
      ECG_CHECK(a.size() >= 4 && a[0].is(Kind::tensor) && a[1].is(Kind::integer),
                "{}: malformed _rebuild_tensor_v2 arguments at byte {}", origin_, at);
      const at::Tensor& storage = a[0].tensor;
      const auto size = int_tuple(a[2], "tensor size", origin_);
      const auto stride = int_tuple(a[3], "tensor stride", origin_);
      ECG_CHECK(size.size() == stride.size(), "{}: tensor size/stride rank differ at byte {}",
                origin_, at);
      int64_t last = a[1].i, numel = 1;
      for (size_t d = 0; d < size.size(); ++d) {
        ECG_CHECK(size[d] >= 0 && stride[d] >= 0, "{}: negative tensor size/stride at byte {}",
                  origin_, at);
        numel *= size[d];
        if (size[d] > 0) last += (size[d] - 1) * stride[d];
      }
      ECG_CHECK(a[1].i >= 0 && (numel == 0 || last < storage.numel()),
                "{}: tensor at byte {} reaches past its storage ({} elements)", origin_, at,
                storage.numel());
      return make_tensor(storage.as_strided(size, stride, a[1].i));
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
    auto it = storages_.find(p[2].s);
    if (it == storages_.end()) {
      at::Tensor storage = load_storage_(p[2].s, storage_types().at(p[1].s), p[4].i);
      it = storages_.emplace(p[2].s, storage).first;
    }
    return make_tensor(it->second);
  }

  const std::string& data_;
  const std::string& origin_;
  const std::function<at::Tensor(const std::string&, c10::ScalarType, int64_t)>& load_storage_;
  size_t pos_ = 0;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue> memo_;
  std::map<std::string, at::Tensor> storages_;
};

std::string record_string(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto [ptr, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(ptr.get()), size);
}

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
  }
  return "?";
}

PickleValue unpickle(
    const std::string& data, const std::string& origin,
    const std::function<at::Tensor(const std::string&, c10::ScalarType, int64_t)>& load_storage) {
  return Unpickler(data, origin, load_storage).run();
}

PickleValue read_torch_save(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    ECG_CHECK(probe.good(), "cannot open checkpoint '{}'", path);
    char magic[2] = {0, 0};
    probe.read(magic, 2);
    ECG_CHECK(magic[0] == 'P' && magic[1] == 'K',
              "{}: not a zip-format torch.save file (legacy pre-1.6 torch.save files and plain "
              "pickles are not supported; re-save with a current torch.save)",
              path);
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  std::string pickle;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    ECG_CHECK(reader->hasRecord("data.pkl"), "{}: no data.pkl record (not a torch.save file)",
              path);
    if (reader->hasRecord("byteorder")) {
      const std::string order = record_string(*reader, "byteorder");
      ECG_CHECK(order == "little", "{}: byte order '{}' is not supported", path, order);
    }
    pickle = record_string(*reader, "data.pkl");
  } catch (const c10::Error& e) {
    ECG_FAIL("{}: cannot read the torch.save archive: {}", path, e.what_without_backtrace());
  }
  auto load_storage = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    const std::string record = "data/" + key;
    try {
      ECG_CHECK(reader->hasRecord(record), "{}: missing storage record '{}'", path, record);
      auto [ptr, size] = reader->getRecord(record);
      const size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
      ECG_CHECK(numel >= 0 && size >= bytes, "{}: storage '{}' holds {} bytes, {} expected", path,
                record, size, bytes);
      at::Tensor out = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      if (bytes > 0) std::memcpy(out.data_ptr(), ptr.get(), bytes);
      return out;
    } catch (const c10::Error& e) {
      ECG_FAIL("{}: cannot read storage '{}': {}", path, record, e.what_without_backtrace());
    }
  };
  return unpickle(pickle, path, load_storage);
}

}  // namespace ecg::model
