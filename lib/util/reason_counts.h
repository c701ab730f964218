// One counter per value of an enum of reasons (why a request or a
// connection was refused, ...), for /metrics' labelled families. The enum
// runs from 0 to `Count` - 1. Read and written on the loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>

namespace raftkv::util {

template <typename Reason, std::size_t Count>
class ReasonCounts {
 public:
  void add(Reason reason) { ++counts_[static_cast<std::size_t>(reason)]; }
  std::uint64_t operator[](Reason reason) const {
    return counts_[static_cast<std::size_t>(reason)];
  }
  std::uint64_t total() const {
    return std::accumulate(counts_.begin(), counts_.end(), std::uint64_t{0});
  }

 private:
  std::array<std::uint64_t, Count> counts_{};
};

}  // namespace raftkv::util
