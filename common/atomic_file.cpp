#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace ecg {

std::string write_error_message(const std::string& path, int err, const std::string& what) {
  std::string reason;
  if (err == ENOSPC || err == EDQUOT) {
    reason = err == ENOSPC ? "no space left on device" : "disk quota exceeded";
  } else {
    reason = err != 0 ? std::strerror(err) : "write failed";
    if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  }
  return fmt::format("{}: {} while writing {}", path, reason, what);
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  ECG_CHECK(fd >= 0, "cannot open {} for fsync: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  ECG_CHECK(rc == 0, "fsync of {} failed: {}", path, std::strerror(saved));
}

FileSink::FileSink(const std::string& path, std::string display_path, std::string what)
    : display_path_(std::move(display_path)), what_(std::move(what)) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) ECG_FAIL("{}", write_error_message(display_path_, errno, what_));
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

size_t FileSink::write(const void* data, size_t size) noexcept {
  if (error_ != 0 || fd_ < 0) return size;
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      break;
    }
    if (n == 0) {
      // A zero-byte write of a non-empty buffer is how some filesystems say "full".
      error_ = ENOSPC;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return size;
}

void FileSink::close() {
  ECG_CHECK(fd_ >= 0, "{}: already closed", display_path_);
  // Delayed allocation (ext4, XFS, NFS) may report a full disk only at fsync or close.
  if (error_ == 0 && ::fsync(fd_) != 0) error_ = errno;
  if (::close(fd_) != 0 && error_ == 0) error_ = errno;
  fd_ = -1;
  if (error_ != 0) ECG_FAIL("{}", write_error_message(display_path_, error_, what_));
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string&)>& write,
                      const std::string& what) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto remove_tmp = [&] {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
  };
  try {
    write(tmp);
    // Delayed allocation may report a full disk only now.
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    ECG_CHECK(fd >= 0, "{}", write_error_message(path, errno, what));
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    ECG_CHECK(rc == 0, "{}", write_error_message(path, saved, what));
  } catch (const Error&) {
    remove_tmp();
    throw;
  } catch (const std::exception& e) {
    // A library's own exception (c10::Error, std::ios_base::failure, ...): one line naming the
    // file, not the temp name nor the library's backtrace.
    const int saved = errno;
    remove_tmp();
    std::string first = e.what();
    first = first.substr(0, first.find('\n'));
    if (saved == ENOSPC || saved == EDQUOT) ECG_FAIL("{}", write_error_message(path, saved, what));
    ECG_FAIL("{}: cannot write {}: {}", path, what, first);
  } catch (...) {
    remove_tmp();
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    remove_tmp();
    ECG_FAIL("{}: cannot rename the finished {} into place: {}", path, what, std::strerror(saved));
  }
  // Make the rename itself durable.
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, const std::string& contents,
                           const std::string& what) {
  write_atomically(
      path,
      [&](const std::string& tmp) {
        FileSink sink(tmp, path, what);
        sink.write(contents.data(), contents.size());
        sink.close();
      },
      what);
}

}  // namespace ecg
