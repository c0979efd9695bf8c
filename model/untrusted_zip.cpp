#include "model/untrusted_zip.h"

#include <c10/util/Exception.h>
#include <zip.h>

#include <filesystem>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "common/error.h"

namespace ecg::model {
namespace {

std::string libzip_error(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string out = zip_error_strerror(&error);
  zip_error_fini(&error);
  return out;
}

// One line of at most 300 characters: foreign messages can be long or hold several lines.
std::string first_line(const std::string& text) {
  std::string out = text.substr(0, text.find('\n'));
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
}

// Closes a zip_file_t on every path out of a read.
struct FileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

}  // namespace

UntrustedZip::UntrustedZip(struct zip* archive, std::string origin, uint64_t archive_bytes)
    : archive_(archive), origin_(std::move(origin)), archive_bytes_(archive_bytes) {}

UntrustedZip::UntrustedZip(UntrustedZip&& other) noexcept
    : archive_(std::exchange(other.archive_, nullptr)),
      origin_(std::move(other.origin_)),
      archive_bytes_(other.archive_bytes_),
      entries_(other.entries_),
      folder_(std::move(other.folder_)) {}

UntrustedZip& UntrustedZip::operator=(UntrustedZip&& other) noexcept {
  if (this != &other) {
    if (archive_ != nullptr) zip_discard(archive_);
    archive_ = std::exchange(other.archive_, nullptr);
    origin_ = std::move(other.origin_);
    archive_bytes_ = other.archive_bytes_;
    entries_ = other.entries_;
    folder_ = std::move(other.folder_);
  }
  return *this;
}

// zip_discard, not zip_close: the archive is read-only and must never be written back.
UntrustedZip::~UntrustedZip() {
  if (archive_ != nullptr) zip_discard(archive_);
}

UntrustedZip UntrustedZip::open_file(const std::string& path, Compressed compressed) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  ECG_CHECK(!ec, "cannot open checkpoint '{}': {}", path, ec.message());
  int code = 0;
  // ZIP_CHECKCONS: local headers must agree with the central directory.
  struct zip* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  ECG_CHECK(archive != nullptr, "{}: not a readable zip archive ({})", path, libzip_error(code));
  UntrustedZip out(archive, path, size);
  out.check_directory(compressed);
  return out;
}

UntrustedZip UntrustedZip::open_bytes(const std::string& bytes, const std::string& origin,
                                      Compressed compressed) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  struct zip* archive = nullptr;
  if (source != nullptr) {
    archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (archive == nullptr) zip_source_free(source);
  }
  const std::string reason = archive == nullptr ? zip_error_strerror(&error) : "";
  zip_error_fini(&error);
  ECG_CHECK(archive != nullptr, "{}: not a readable zip archive ({})", origin, reason);
  UntrustedZip out(archive, origin, bytes.size());
  out.check_directory(compressed);
  return out;
}

void UntrustedZip::check_directory(Compressed compressed) {
  entries_ = zip_get_num_entries(archive_, 0);
  ECG_CHECK(entries_ > 0, "{}: the zip archive holds no records", origin_);
  uint64_t total = 0;     // bytes the records take in the file
  uint64_t inflated = 0;  // bytes the compressed records declare
  for (int64_t k = 0; k < entries_; ++k) {
    zip_stat_t st;
    zip_stat_init(&st);
    ECG_CHECK(zip_stat_index(archive_, static_cast<zip_uint64_t>(k), ZIP_FL_ENC_RAW, &st) == 0,
              "{}: unreadable zip entry {} ({})", origin_, k, zip_strerror(archive_));
    const std::string name = (st.valid & ZIP_STAT_NAME) != 0 ? st.name : "?";
    const uint64_t needed = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    ECG_CHECK((st.valid & needed) == needed, "{}: zip record '{}' does not state its sizes",
              origin_, name);
    ECG_CHECK((st.valid & ZIP_STAT_ENCRYPTION_METHOD) == 0 || st.encryption_method == ZIP_EM_NONE,
              "{}: zip record '{}' is encrypted", origin_, name);
    if (st.comp_method == ZIP_CM_STORE) {
      ECG_CHECK(st.size == st.comp_size, "{}: stored zip record '{}' claims {} bytes in {}",
                origin_, name, st.size, st.comp_size);
    } else {
      ECG_CHECK(compressed == Compressed::small_only,
                "{}: zip record '{}' is compressed (method {}); torch.save writes records "
                "uncompressed, so this file was not written by torch.save",
                origin_, name, st.comp_method);
      ECG_CHECK(st.size <= kMaxCompressedRecordBytes && (inflated += st.size) <= kMaxCompressedTotalBytes,
                "{}: compressed zip record '{}' declares {} bytes; compressed records may hold "
                "{} bytes each and {} in all",
                origin_, name, st.size, kMaxCompressedRecordBytes, kMaxCompressedTotalBytes);
    }
    ECG_CHECK(!__builtin_add_overflow(total, st.comp_size, &total) && total <= archive_bytes_,
              "{}: the zip records take more bytes than the {}-byte archive holds (at record "
              "'{}'): overlapping or forged entries",
              origin_, archive_bytes_, name);
    if (k == 0) {
      const size_t slash = name.find('/');
      folder_ = slash == std::string::npos ? "" : name.substr(0, slash + 1);
    }
  }
}

int64_t UntrustedZip::locate(const std::string& name) const {
  return zip_name_locate(archive_, (folder_ + name).c_str(), ZIP_FL_ENC_RAW);
}

std::optional<uint64_t> UntrustedZip::record_size(const std::string& name) const {
  const int64_t index = locate(name);
  if (index < 0) return std::nullopt;
  zip_stat_t st;
  zip_stat_init(&st);
  ECG_CHECK(zip_stat_index(archive_, static_cast<zip_uint64_t>(index), ZIP_FL_ENC_RAW, &st) == 0,
            "{}: unreadable zip record '{}' ({})", origin_, name, zip_strerror(archive_));
  return st.size;
}

std::string UntrustedZip::read_record(const std::string& name, uint64_t max_bytes,
                                      const std::string& what) const {
  const auto size = record_size(name);
  ECG_CHECK(size.has_value(), "{}: no '{}' record ({})", origin_, name, what);
  ECG_CHECK(*size <= max_bytes, "{}: the {} record '{}' holds {} bytes, over the limit of {}",
            origin_, what, name, *size, max_bytes);
  std::string out(*size, '\0');
  read_record_into(name, out.data(), *size);
  return out;
}

void UntrustedZip::read_record_into(const std::string& name, void* out, uint64_t bytes) const {
  const auto size = record_size(name);
  ECG_CHECK(size.has_value() && *size >= bytes, "{}: record '{}' holds {} bytes, {} expected",
            origin_, name, size.value_or(0), bytes);
  std::unique_ptr<zip_file_t, FileCloser> file(
      zip_fopen_index(archive_, static_cast<zip_uint64_t>(locate(name)), 0));
  ECG_CHECK(file != nullptr, "{}: cannot open record '{}' ({})", origin_, name,
            zip_strerror(archive_));
  auto* dst = static_cast<char*>(out);
  uint64_t done = 0;
  while (done < bytes) {
    const zip_int64_t got = zip_fread(file.get(), dst + done, bytes - done);
    ECG_CHECK(got > 0, "{}: cannot read record '{}' ({} of {} bytes read: {})", origin_, name,
              done, bytes, got < 0 ? zip_file_strerror(file.get()) : "unexpected end");
    done += static_cast<uint64_t>(got);
  }
}

void rethrow_as_error(const std::string& origin, const std::string& action) {
  try {
    throw;
  } catch (const ecg::Error&) {
    throw;
  } catch (const c10::Error& e) {
    ECG_FAIL("{}: {}: {}", origin, action, first_line(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    ECG_FAIL("{}: {}: out of memory", origin, action);
  } catch (const std::exception& e) {
    ECG_FAIL("{}: {}: {}", origin, action, first_line(e.what()));
  } catch (...) {
    ECG_FAIL("{}: {}: unknown error", origin, action);
  }
}

}  // namespace ecg::model
