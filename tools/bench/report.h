// Counters of a run and how they are printed: the per-second progress line,
// the final summary (text or one JSON object), and the --sweep table (text
// or CSV).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "histogram.h"

namespace raftkv::bench {

// Errors by kind, in fixed counters so that counting one costs no allocation.
struct ErrorCounts {
  std::array<std::uint64_t, 600> status{};  // non-2xx HTTP answers by code
  std::uint64_t timeout = 0;                // no answer within --timeout
  std::uint64_t connect = 0;                // failed connection attempts
  std::uint64_t closed = 0;                 // requests lost to a dropped connection
  std::uint64_t protocol = 0;               // requests lost to an unparsable answer

  void add_status(int code);
  std::uint64_t total() const;
  // ("503", 12), ("timeout", 3), ... in a stable order, zero counts omitted.
  std::vector<std::pair<std::string, std::uint64_t>> kinds() const;
};

struct Stats {
  std::uint64_t ops = 0;        // successful operations (2xx, and 404 for reads)
  std::uint64_t not_found = 0;  // reads of an absent key, included in ops
  ErrorCounts errors;
  Histogram latency;  // nanoseconds, successful operations only
};

struct Summary {
  Stats stats;
  double duration_s = 0;
  std::size_t clients = 0;
  unsigned writes_percent = 0;
  std::uint64_t value_size = 0;
  std::string target;  // "raftkv", "etcd", "plain"

  double throughput() const {
    return duration_s > 0 ? static_cast<double>(stats.ops) / duration_s : 0;
  }
};

std::string format_progress(double elapsed_s, double ops_per_s, std::uint64_t errors,
                            std::uint64_t p99_ns, const char* phase);
std::string format_summary_text(const Summary& summary);
std::string format_summary_json(const Summary& summary);
std::string format_sweep_table(const std::vector<Summary>& rows);
std::string format_sweep_csv(const std::vector<Summary>& rows);

}  // namespace raftkv::bench
