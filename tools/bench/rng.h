// A small, fast, seedable PRNG (splitmix64). Deterministic across platforms
// and standard libraries, unlike std::uniform_*_distribution, so a --seed
// reproduces the same key sequence everywhere.
#pragma once

#include <cstdint>

namespace raftkv::bench {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); the modulo bias is below 2^-40 for n < 2^24 and
  // irrelevant for load generation.
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  std::uint64_t state_;
};

}  // namespace raftkv::bench
