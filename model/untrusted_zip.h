// Reading zip archives that come from untrusted sources (checkpoints downloaded from the
// internet): torch.save files and our own checkpoints are zip containers whose records PyTorch
// always writes STORED (uncompressed). LibTorch 1.13's PyTorchStreamReader inflates a record whole
// before anyone can look at its size, so a 1 MB file could expand to gigabytes; this reader uses
// Debian's libzip, which reports every record's sizes and compression from the central directory
// before a byte is read, and reads with an explicit bound.
//
// Opening checks the whole central directory once: every record must be STORED (but see
// Compressed below) and unencrypted, and the records together may not take more bytes than the
// archive holds (which also rejects
// "overlapping entry" bombs, where many entries share one stretch of data). After that a reader
// never allocates more than the archive's own size for a record.
//
// rethrow_as_error() is the boundary for exceptions from foreign code (LibTorch, libzip, the
// standard library) that reads such files: one ecg::Error line naming the file, no backtrace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

struct zip;  // libzip's zip_t

namespace ecg::model {

// TorchScript archives (our own checkpoint format, torch::serialize) are the one exception to
// "all STORED": LibTorch deflates their code/ and debug records. Those are small text, so a
// compressed record may declare at most kMaxCompressedRecordBytes, and all of them together
// kMaxCompressedTotalBytes (LibTorch allocates what the directory declares and inflates no further).
inline constexpr uint64_t kMaxCompressedRecordBytes = uint64_t{16} << 20;
inline constexpr uint64_t kMaxCompressedTotalBytes = uint64_t{64} << 20;

class UntrustedZip {
 public:
  enum class Compressed {
    refuse,      // torch.save files: every record stored
    small_only,  // TorchScript archives: compressed records within the limits above
  };

  // Opens `path`. Throws ecg::Error naming the file if it is not a zip archive or breaks the rules
  // above.
  static UntrustedZip open_file(const std::string& path, Compressed compressed = Compressed::refuse);
  // The same over bytes in memory (fuzzing, tests); `bytes` must outlive the reader. `origin`
  // names the data in errors.
  static UntrustedZip open_bytes(const std::string& bytes, const std::string& origin,
                                 Compressed compressed = Compressed::refuse);

  UntrustedZip(UntrustedZip&&) noexcept;
  UntrustedZip& operator=(UntrustedZip&&) noexcept;
  ~UntrustedZip();

  const std::string& origin() const { return origin_; }
  uint64_t archive_bytes() const { return archive_bytes_; }
  int64_t entries() const { return entries_; }

  // PyTorch archives keep every record under one folder (the name of the first entry up to its
  // first '/', e.g. "archive/"); record names below are relative to it.
  const std::string& folder() const { return folder_; }
  // Uncompressed size of a record, or nullopt when there is none by that name.
  std::optional<uint64_t> record_size(const std::string& name) const;
  // The whole record; fails (before reading) when it is larger than `max_bytes`. `what` says what
  // the record is for in errors ("pickle", "byte order").
  std::string read_record(const std::string& name, uint64_t max_bytes, const std::string& what) const;
  // Reads exactly `bytes` bytes from the start of a record that holds at least that many.
  void read_record_into(const std::string& name, void* out, uint64_t bytes) const;

 private:
  UntrustedZip(struct zip* archive, std::string origin, uint64_t archive_bytes);
  void check_directory(Compressed compressed);
  int64_t locate(const std::string& name) const;  // -1 when absent

  struct zip* archive_ = nullptr;
  std::string origin_;
  uint64_t archive_bytes_ = 0;
  int64_t entries_ = 0;
  std::string folder_;
};

// Call inside `catch (...)` around code that reads an untrusted file: rethrows an ecg::Error as it
// is and turns anything else into one ecg::Error line "<origin>: <action>: <reason>" (the reason
// without LibTorch's backtrace, cut to its first line).
[[noreturn]] void rethrow_as_error(const std::string& origin, const std::string& action);

}  // namespace ecg::model
