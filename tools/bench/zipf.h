// Zipf-distributed key ranks: P(rank k) is proportional to 1/k^s for k in
// [1, n]. The CDF is precomputed once (n doubles) so each sample is one
// uniform draw and a binary search; the hot keys are the low indexes.
#pragma once

#include <cstdint>
#include <vector>

#include "rng.h"

namespace raftkv::bench {

class ZipfGenerator {
 public:
  // n >= 1, s > 0.
  ZipfGenerator(std::uint64_t n, double s);

  // A key index in [0, n): index 0 is rank 1, the most frequent.
  std::uint64_t sample(Rng& rng) const;
  // Probability of index i, for tests.
  double probability(std::uint64_t index) const;

 private:
  std::vector<double> cdf_;
};

}  // namespace raftkv::bench
