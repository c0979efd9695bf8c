#include "model/torch_save_writer.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <limits>

#include "common/atomic_file.h"
#include "common/error.h"

namespace ecg::model {
namespace {

// The Python names torch.load maps back to an element type.
std::string storage_class(c10::ScalarType t) {
  switch (t) {
    case c10::kFloat:
      return "FloatStorage";
    case c10::kDouble:
      return "DoubleStorage";
    case c10::kHalf:
      return "HalfStorage";
    case c10::kBFloat16:
      return "BFloat16Storage";
    case c10::kLong:
      return "LongStorage";
    case c10::kInt:
      return "IntStorage";
    case c10::kShort:
      return "ShortStorage";
    case c10::kChar:
      return "CharStorage";
    case c10::kByte:
      return "ByteStorage";
    case c10::kBool:
      return "BoolStorage";
    default:
      ECG_FAIL("cannot export tensors of type {}", c10::toString(t));
  }
}

class PickleWriter {
 public:
  void proto() { out_ += "\x80\x02"; }
  void global(const std::string& module, const std::string& name) {
    out_ += 'c' + module + '\n' + name + '\n';
  }
  void mark() { out_ += '('; }
  void tuple() { out_ += 't'; }
  void empty_tuple() { out_ += ')'; }
  void reduce() { out_ += 'R'; }
  void setitems() { out_ += 'u'; }
  void persid() { out_ += 'Q'; }
  void boolean(bool v) { out_ += v ? '\x88' : '\x89'; }
  void stop() { out_ += '.'; }
  void string(const std::string& s) {
    out_ += 'X';
    put_le(s.size(), 4);
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
      out_ += 'J';  // BININT: 4-byte signed little-endian
      put_le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
      out_ += '\x8a';  // LONG1 with 8 two's-complement bytes
      out_ += '\x08';
      put_le(static_cast<uint64_t>(v), 8);
    }
  }
  void int_tuple(const std::vector<int64_t>& values) {
    mark();
    for (int64_t v : values) integer(v);
    tuple();
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    empty_tuple();
    reduce();
  }
  std::string take() { return std::move(out_); }

 private:
  void put_le(uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) out_ += static_cast<char>((v >> (8 * k)) & 0xff);
  }
  std::string out_;
};

}  // namespace

std::string pickle_state_dict(const NamedTensors& tensors) {
  PickleWriter w;
  w.proto();
  w.empty_ordered_dict();
  w.mark();
  for (size_t k = 0; k < tensors.size(); ++k) {
    const auto& [name, tensor] = tensors[k];
    w.string(name);
    // _rebuild_tensor_v2(storage, offset 0, size, contiguous stride, False, OrderedDict())
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.mark();
    w.mark();
    w.string("storage");
    w.global("torch", storage_class(tensor.scalar_type()));
    w.string(std::to_string(k));
    w.string("cpu");
    w.integer(tensor.numel());
    w.tuple();
    w.persid();
    w.integer(0);
    w.int_tuple(tensor.sizes().vec());
    const auto strides = c10::contiguous_strides(tensor.sizes());
    w.int_tuple(std::vector<int64_t>(strides.begin(), strides.end()));
    w.boolean(false);
    w.empty_ordered_dict();
    w.tuple();
    w.reduce();
  }
  w.setitems();
  w.stop();
  return w.take();
}

void write_archive_atomically(const std::string& path, const std::string& what,
                              const std::function<void(const ByteSink& sink, const std::function<bool()>& failed)>& fill) {
  write_atomically(
      path,
      [&](const std::string& tmp) {
        FileSink sink(tmp, path, what);
        std::string zip_error;
        try {
          fill([&](const void* data, size_t size) { return sink.write(data, size); },
               [&] { return sink.failed(); });
        } catch (const c10::Error& e) {
          zip_error = e.what_without_backtrace();
        }
        sink.close();  // a write error first: it is the cause of any zip error
        ECG_CHECK(zip_error.empty(), "{}: cannot write {}: {}", path, what, zip_error.substr(0, zip_error.find('\n')));
      },
      what);
}

void write_torch_save(const std::string& path, const NamedTensors& tensors, const ExtraRecords& extra) {
  // Checked before the writer exists: throwing from inside `fill` would unwind through its destructor.
  for (const auto& record : extra) {
    const std::string& name = record.first;
    ECG_CHECK(name != "data.pkl" && name.rfind("data/", 0) != 0 && name != "version" && name != "byteorder",
              "{}: extra record '{}' would shadow a torch.save record", path, name);
  }
  const std::string pickle = pickle_state_dict(tensors);
  write_archive_atomically(path, "the exported weights", [&](const ByteSink& sink, const std::function<bool()>& failed) {
    // The writer-function form names the archive's folder "archive", as Python's torch.save does.
    // The writer is destroyed inside `fill`, so its end-of-file error (if any) is caught there.
    caffe2::serialize::PyTorchStreamWriter writer(sink);
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    for (size_t k = 0; k < tensors.size() && !failed(); ++k) {
      at::Tensor t = tensors[k].second.detach().to(torch::kCPU).contiguous();
      writer.writeRecord("data/" + std::to_string(k), t.data_ptr(), t.nbytes());
    }
    for (size_t k = 0; k < extra.size() && !failed(); ++k) {
      writer.writeRecord(extra[k].first, extra[k].second.data(), extra[k].second.size());
    }
    writer.writeEndOfFile();
  });
}

}  // namespace ecg::model
