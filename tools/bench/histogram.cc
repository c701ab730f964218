#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace raftkv::bench {

// Values below 2*kSubCount map to themselves (exponent 0). Above, the
// exponent e is how far the top bit sits above kSubBits, and value >> e lies
// in [kSubCount, 2*kSubCount): the linear position inside that power of two.
std::size_t Histogram::bucket_index(std::uint64_t value) {
  value = std::min(value, kMaxTracked);
  const int top_bit = 63 - std::countl_zero(value | 1);
  const int exponent = std::max(0, top_bit - kSubBits);
  if (exponent == 0) return static_cast<std::size_t>(value);
  return static_cast<std::size_t>(static_cast<std::uint64_t>(exponent) * kSubCount +
                                  (value >> exponent));
}

std::uint64_t Histogram::bucket_lower(std::size_t index) {
  if (index < 2 * kSubCount) return index;
  const std::uint64_t exponent = index / kSubCount - 1;
  const std::uint64_t sub = index - exponent * kSubCount;
  return sub << exponent;
}

std::uint64_t Histogram::bucket_upper(std::size_t index) {
  if (index < 2 * kSubCount) return index;
  const std::uint64_t exponent = index / kSubCount - 1;
  return bucket_lower(index) + (std::uint64_t{1} << exponent) - 1;
}

void Histogram::record(std::uint64_t value) {
  ++counts_[bucket_index(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() {
  *this = Histogram();
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t Histogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  // Rank of the wanted value, 1-based; at least the first value.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The bucket's midpoint halves the worst-case error; the exact extremes
      // keep p0 and p100 honest.
      const std::uint64_t mid = bucket_lower(i) + (bucket_upper(i) - bucket_lower(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace raftkv::bench
