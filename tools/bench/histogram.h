// A latency histogram in the style of HdrHistogram: log-linear buckets, so
// recording is a few shifts and an increment, memory is fixed (about 30 KiB)
// and every value from 1 ns to ~68 s is kept with a relative error below
// 1/256 (the midpoint of a bucket whose width is at most 1/128 of its lower
// bound). Values above the range are clamped into the last bucket; the exact
// maximum is kept separately.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace raftkv::bench {

class Histogram {
 public:
  // 7 bits of sub-bucket precision: 128 linear buckets per power of two.
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;
  // Largest value kept distinctly: 2^36 - 1 ns, about 68.7 s (> the 60 s we need).
  static constexpr int kTopBit = 35;
  static constexpr std::uint64_t kMaxTracked = (std::uint64_t{1} << (kTopBit + 1)) - 1;
  static constexpr std::size_t kBuckets = (kTopBit - kSubBits) * kSubCount + 2 * kSubCount;

  void record(std::uint64_t value);
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const;
  // The value at or below which `percent` (0..100) of the recorded values fall,
  // within the histogram's precision; 0 when empty.
  std::uint64_t percentile(double percent) const;

  // Bucket geometry, public for tests.
  static std::size_t bucket_index(std::uint64_t value);
  static std::uint64_t bucket_lower(std::size_t index);
  static std::uint64_t bucket_upper(std::size_t index);  // inclusive

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace raftkv::bench
