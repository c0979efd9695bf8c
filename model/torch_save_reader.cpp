#include "model/torch_save_reader.h"

#include <torch/torch.h>

#include <fstream>

#include "common/error.h"
#include "model/torch_save_tensor.h"
#include "model/untrusted_zip.h"

namespace ecg::model {
namespace {

// The byteorder record says "little" or "big"; anything longer is not one of those.
constexpr uint64_t kMaxByteOrderBytes = 16;

PickleValue read_archive(const UntrustedZip& zip) {
  const std::string& origin = zip.origin();
  ECG_CHECK(zip.record_size("data.pkl").has_value(),
            "{}: no data.pkl record (not a torch.save file)", origin);
  if (zip.record_size("byteorder").has_value()) {
    const std::string order = zip.read_record("byteorder", kMaxByteOrderBytes, "byte order");
    ECG_CHECK(order == "little", "{}: byte order '{}' is not supported", origin, order);
  }
  // Opening the archive checked that no record is larger than the file.
  const std::string pickle = zip.read_record("data.pkl", zip.archive_bytes(), "pickle");

  // torch.save stores every storage uncompressed, so the storages a valid file declares fit in
  // the file: checking the running total before each allocation bounds the memory a file can
  // make the reader take by the file's own size, whatever numel the pickle claims.
  uint64_t declared = 0;
  auto load_storage = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    const std::string record = "data/" + key;
    const uint64_t bytes =
        storage_bytes(dtype, numel, fmt::format("{}: storage '{}'", origin, record));
    ECG_CHECK(!__builtin_add_overflow(declared, bytes, &declared) &&
                  declared <= zip.archive_bytes(),
              "{}: storage '{}' declares {} bytes, which brings the storages to more than the "
              "{}-byte file can hold",
              origin, record, bytes, zip.archive_bytes());
    const auto size = zip.record_size(record);
    ECG_CHECK(size.has_value(), "{}: missing storage record '{}'", origin, record);
    ECG_CHECK(*size >= bytes, "{}: storage '{}' holds {} bytes, {} expected", origin, record,
              *size, bytes);
    at::Tensor out = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    zip.read_record_into(record, out.data_ptr(), bytes);
    return out;
  };
  return unpickle(pickle, origin, load_storage);
}

}  // namespace

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
  try {
    return read_archive(UntrustedZip::open_file(path));
  } catch (...) {
    rethrow_as_error(path, "cannot read the torch.save file");
  }
}

PickleValue read_torch_save_bytes(const std::string& bytes, const std::string& origin) {
  try {
    return read_archive(UntrustedZip::open_bytes(bytes, origin));
  } catch (...) {
    rethrow_as_error(origin, "cannot read the torch.save data");
  }
}

}  // namespace ecg::model
