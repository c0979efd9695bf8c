// Process statistics read from /proc (Linux), for the ecgdist_resident_memory_bytes gauge.
#pragma once

#include <cstdint>

namespace ecg::monitoring {

// Resident set size of this process in bytes (from /proc/self/statm); 0 if unreadable.
std::uint64_t resident_memory_bytes();

// Seconds since the Unix epoch (wall clock), as Prometheus timestamps expect.
double unix_time_seconds();

}  // namespace ecg::monitoring
