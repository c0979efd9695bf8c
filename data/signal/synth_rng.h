// The synthetic generator's random numbers: a counter-free SplitMix64 stream with our own
// uniform/normal transforms. std:: distributions are implementation-defined, so using them would
// make `synth --seed S` produce different bytes with another standard library; this does not.
// Each record draws from a stream keyed by (seed, ecg_id, purpose) so that output never depends on
// --threads or on the order in which records are generated.
#pragma once

#include <cmath>
#include <cstdint>

namespace ecg::data::synth {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // Streams for different purposes of one record must not overlap: mix all keys into the state.
  explicit Rng(uint64_t seed, uint64_t key1 = 0, uint64_t key2 = 0) {
    state_ = seed;
    uint64_t a = splitmix64(state_) ^ (key1 * 0xD1B54A32D192ED03ULL);
    state_ = a;
    uint64_t b = splitmix64(state_) ^ (key2 * 0x8CB92BA72F3D8DD7ULL);
    state_ = b;
    splitmix64(state_);
  }
  uint64_t next() { return splitmix64(state_); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [0, n).
  int below(int n) { return static_cast<int>(uniform() * n); }
  bool chance(double p) { return uniform() < p; }
  // Standard normal by Box-Muller (the spare value is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 1e-300) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(6.283185307179586 * u2);
    has_spare_ = true;
    return r * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

 private:
  uint64_t state_ = 0;
  double spare_ = 0;
  bool has_spare_ = false;
};

// Purposes (key2) of the per-record streams.
enum StreamPurpose : uint64_t {
  kLabelStream = 1,
  kMetadataStream = 2,
  kSignalStream = 3,
  kNoiseStream100 = 100,  // white noise is drawn per sampling rate: kNoiseStream100 + rate
  kPatientStream = 7,
};

}  // namespace ecg::data::synth
