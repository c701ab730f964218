// The simulator's only source of randomness.
//
// splitmix64 (Steele, Lea and Flood, 2014) is tiny, fast and fully specified,
// so one seed yields the same stream with every compiler and standard library.
// std:: distributions are deliberately not used: their algorithms are
// implementation-defined, which would make a seed's trace depend on the
// toolchain.
#pragma once

#include <cstdint>

namespace raftkv::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n) for n > 0. The modulo bias (n / 2^64) is irrelevant here.
  std::uint64_t below(std::uint64_t n) { return next() % n; }

  // Uniform in [lo, hi], lo <= hi.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }

  // Uniform in [0, 1): the top 53 bits as a double.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool chance(double p) { return unit() < p; }

 private:
  std::uint64_t state_;
};

// Mixes two values into one well-spread 64-bit value (for derived seeds and
// log hashes).
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  Rng r(a ^ (b * 0x9e3779b97f4a7c15ULL));
  return r.next();
}

}  // namespace raftkv::sim
