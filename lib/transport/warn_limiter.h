// A budget of WARN lines per time window, for refusals that a misconfigured
// or hostile peer repeats every few hundred milliseconds (a member with
// another cluster secret redials every backoff_max_ms): the first ones of a
// window are worth a WARN, the rest go to debug (and are still counted in
// /metrics), so the log cannot be flooded.
#pragma once

#include <cstdint>

namespace raftkv::transport {

class WarnLimiter {
 public:
  WarnLimiter(std::uint64_t window_ms, unsigned lines_per_window)
      : window_ms_(window_ms), lines_per_window_(lines_per_window) {}

  // Whether a line at `now_ms` may go out as a WARN.
  bool allow(std::uint64_t now_ms) {
    if (lines_ == 0 || now_ms - window_start_ms_ >= window_ms_) {
      window_start_ms_ = now_ms;
      lines_ = 0;
    }
    if (lines_ < lines_per_window_) {
      ++lines_;
      return true;
    }
    return false;
  }

 private:
  std::uint64_t window_ms_;
  unsigned lines_per_window_;
  std::uint64_t window_start_ms_ = 0;
  unsigned lines_ = 0;
};

}  // namespace raftkv::transport
