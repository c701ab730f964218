// The client API's per-response counters for /metrics: responses and total
// latency by (endpoint, status code). Recorded on every response, so they
// are fixed arrays indexed by an enum and the code, not a map keyed by
// strings (a map lookup with a string key was in every request's profile).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/rejection.h"

namespace raftkv::daemon {

// What a request asked for: the `endpoint` label of /metrics.
enum class Endpoint : std::uint8_t {
  kOther,  // unknown paths
  kKvPut,
  kKvGet,
  kKvGetStale,
  kKvDelete,
  kKvOther,  // /kv/ with another method
  kSet,      // goraft-style /set and /get
  kGet,
  kStatus,
  kMetrics,
  kLeader,
  kSnapshot,
  kMembers,
  kMembersAdd,
  kMembersRemove,
  kCount,
};

inline constexpr std::size_t kEndpointCount = static_cast<std::size_t>(Endpoint::kCount);

// The label value: "kv_put", "kv_get_stale", ...
std::string_view endpoint_name(Endpoint endpoint);

class ApiMetrics {
 public:
  // Counts one response. Codes outside 100..599 count as 500 (the server
  // sends those as 500 too).
  void record(Endpoint endpoint, int code, std::uint64_t latency_us);

  // Calls visit(name, code, count, latency_us_sum) for every (endpoint,
  // code) seen at least once, by endpoint name, then code.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const Endpoint endpoint : sorted_endpoints()) {
      const Row& row = rows_[static_cast<std::size_t>(endpoint)];
      for (std::size_t slot = 0; slot < kCodes; ++slot) {
        if (row.count[slot] == 0) continue;
        visit(endpoint_name(endpoint), static_cast<int>(slot + kFirstCode), row.count[slot],
              row.latency_us_sum[slot]);
      }
    }
  }
  std::uint64_t count(Endpoint endpoint, int code) const;

  // Requests refused by the API (the server counts its own refusals).
  http::RejectionCounts rejected;

 private:
  static constexpr int kFirstCode = 100;
  static constexpr std::size_t kCodes = 500;  // 100..599
  struct Row {
    std::array<std::uint64_t, kCodes> count{};
    std::array<std::uint64_t, kCodes> latency_us_sum{};
  };
  static std::size_t slot(int code);
  // Endpoints in the order of their names (the order /metrics has always had).
  static const std::array<Endpoint, kEndpointCount>& sorted_endpoints();

  std::array<Row, kEndpointCount> rows_{};
};

}  // namespace raftkv::daemon
