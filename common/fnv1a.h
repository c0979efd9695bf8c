// 64-bit FNV-1a: a hash that is the same on every machine and in every run (std::hash is
// neither), for names derived from user text (experiments/report/plot_text.h) and for fingerprints written
// into run files (eval/run_outputs.h: results.json test_data). Not for anything adversarial
// beyond telling apart what a user gave.
#pragma once

#include <cstdint>
#include <string>

namespace ecg {

class Fnv1a64 {
 public:
  void byte(uint8_t b) {
    hash_ ^= b;
    hash_ *= 0x100000001b3ULL;
  }
  void bytes(const std::string& text) {
    for (char c : text) byte(static_cast<uint8_t>(c));
  }
  // Little-endian, so that the value does not depend on the machine.
  void u64(uint64_t v) {
    for (int k = 0; k < 8; ++k) byte(static_cast<uint8_t>(v >> (8 * k)));
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace ecg
