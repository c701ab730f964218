#include "zipf.h"

#include <algorithm>
#include <cmath>

namespace raftkv::bench {

ZipfGenerator::ZipfGenerator(std::uint64_t n, double s) {
  cdf_.resize(std::max<std::uint64_t>(n, 1));
  double sum = 0;
  for (std::size_t i = 0; i < cdf_.size(); ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    cdf_[i] = sum;
  }
  for (double& c : cdf_) c /= sum;
  cdf_.back() = 1.0;  // no rounding gap at the top
}

std::uint64_t ZipfGenerator::sample(Rng& rng) const {
  const double u = rng.uniform();
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<std::uint64_t>(
      std::min<std::ptrdiff_t>(it - cdf_.begin(), static_cast<std::ptrdiff_t>(cdf_.size()) - 1));
}

double ZipfGenerator::probability(std::uint64_t index) const {
  if (index >= cdf_.size()) return 0;
  return index == 0 ? cdf_[0] : cdf_[index] - cdf_[index - 1];
}

}  // namespace raftkv::bench
