// An integer read from JSON that somebody else wrote (a run folder, a sweep grid, a checkpoint's
// metadata), range-checked on the JSON number itself. nlohmann's get<int>() would wrap 4294967297
// to 1, get<uint64_t>() would turn -1 into 18446744073709551615, and either one on a floating
// number out of range (1e300) is undefined behaviour, which the run_dir fuzzer found.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace ecg {

// The largest integer that every JSON reader (doubles: Python's json, jq, JavaScript) keeps exact.
constexpr int64_t kMaxExactJsonInteger = (int64_t{1} << 53) - 1;

// The value when `v` is an integer (not 3.0: a JSON float is not a count) in [lo, hi].
inline std::optional<int64_t> json_integer_in(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) return std::nullopt;
    const auto s = static_cast<int64_t>(u);
    return s >= lo ? std::optional<int64_t>(s) : std::nullopt;
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    return s >= lo && s <= hi ? std::optional<int64_t>(s) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace ecg
