#include "storage/metrics.h"

namespace raftkv::storage {

void LatencyHistogram::observe(std::uint64_t nanoseconds) {
  const std::uint64_t us = nanoseconds / 1000;
  std::size_t bucket = 0;
  while (bucket < kBoundsUs.size() && us > kBoundsUs[bucket]) ++bucket;
  ++counts_[bucket];
  ++count_;
  sum_ns_ += nanoseconds;
}

}  // namespace raftkv::storage
