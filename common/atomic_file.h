// Atomic output: write to "<path>.tmp.<pid>", fsync, then rename over <path>, so that a reader
// never sees a partial file that looks complete (crash, preemption, bad input midway).
#pragma once

#include <functional>
#include <string>

namespace ecg {

// Calls write(tmp_path) and renames tmp_path to path only if write returns normally; on an
// exception the temp file is removed and the exception propagates.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Convenience for text/binary blobs.
void write_file_atomically(const std::string& path, const std::string& contents);

// fsync a file (by path) so that the rename that follows is durable.
void fsync_path(const std::string& path);

}  // namespace ecg
