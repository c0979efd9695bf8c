#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace ecg {

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  ECG_CHECK(fd >= 0, "cannot open {} for fsync: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  ECG_CHECK(rc == 0, "fsync of {} failed: {}", path, std::strerror(saved));
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    write(tmp);
    fsync_path(tmp);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    ECG_FAIL("cannot rename {} to {}: {}", tmp, path, std::strerror(saved));
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

void write_file_atomically(const std::string& path, const std::string& contents) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    ECG_CHECK(out.good(), "cannot create {}: {}", tmp, std::strerror(errno));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    ECG_CHECK(!out.fail(), "cannot write {}: {}", tmp, std::strerror(errno));
  });
}

}  // namespace ecg
