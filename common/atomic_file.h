// Atomic output: write to "<path>.tmp.<pid>", fsync, then rename over <path>, so that a reader
// never sees a partial file that looks complete (crash, preemption, bad input midway, full disk).
// A failed write removes the temp file and leaves an earlier complete <path> untouched; its error
// is one line naming <path> (never the temp name, which no longer exists) and what was written,
// e.g. "<path>: no space left on device while writing checkpoint".
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace ecg {

// Calls write(tmp_path) and renames tmp_path to path only if write returns normally; on an
// exception the temp file is removed and the exception propagates (an ecg::Error as it is, any
// other exception translated into one naming `path` and `what`).
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write,
                      const std::string& what = "file");

// Convenience for text/binary blobs.
void write_file_atomically(const std::string& path, const std::string& contents,
                           const std::string& what = "file");

// fsync a file (by path) so that the rename that follows is durable.
void fsync_path(const std::string& path);

// "<path>: no space left on device while writing <what>" for errno `err` (strerror's words,
// lower-cased, for any other errno).
std::string write_error_message(const std::string& path, int err, const std::string& what);

// A file opened for writing whose write() never fails towards its caller: the first error
// (errno) is remembered, later bytes are dropped, and close() reports it. This is what a
// streaming writer that must not see an exception mid-stream needs -- LibTorch's zip writer calls
// back from C code and its destructor, which finishes the archive, would throw a second time and
// terminate the process. `path` is the file written (a temp name); `display_path` and `what` are
// what the error names.
class FileSink {
 public:
  FileSink(const std::string& path, std::string display_path, std::string what);
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Appends; returns `size` always (see above).
  size_t write(const void* data, size_t size) noexcept;
  bool failed() const { return error_ != 0; }
  // fsync + close; throws ecg::Error naming display_path and what on any error so far.
  void close();

 private:
  int fd_ = -1;
  int error_ = 0;
  std::string display_path_;
  std::string what_;
};

}  // namespace ecg
