// The core's only source of randomness: xoshiro256** seeded through
// splitmix64 (Blackman & Vigna). Written out by hand, without std::
// distributions, so that a seed gives the same election timeouts on every
// platform and standard library: the simulator's seeds must replay exactly.
#pragma once

#include <cstdint>

namespace raftkv::core {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  // The next 64 random bits.
  std::uint64_t next();

  // A value uniformly drawn from [0, bound); 0 when bound is 0. Uses
  // rejection sampling so that no value is favoured by the modulo.
  std::uint64_t below(std::uint64_t bound);

 private:
  std::uint64_t s_[4];
};

}  // namespace raftkv::core
