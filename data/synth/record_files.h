// What every synthetic-source writer (synth.cpp, synth_challenge.cpp, synth_wfdb_folder.cpp) does
// with its records: render them on several threads, write each file under a temporary name and
// rename it without a per-file fsync, and sync the file system once before the writer publishes
// the file that marks its folder complete (ptbxl_database.csv, RECORDS, labels.csv).
#pragma once

#include <functional>
#include <string>

namespace ecg::data::synth {

// fn(0) .. fn(n - 1) on `threads` threads (this one included); the first exception stops the
// others and is rethrown here.
void for_each_record_in_parallel(int n, int threads, const std::function<void(int index)>& fn);

// Writes `bytes` to `path` via a temporary name and a rename; no fsync (see sync_filesystem_of).
void write_renamed(const std::string& path, const std::string& bytes);

// syncfs() of the file system holding `dir`: makes every write_renamed file below it durable.
void sync_filesystem_of(const std::string& dir);

}  // namespace ecg::data::synth
