#include "daemon/api_metrics.h"

#include <algorithm>

namespace raftkv::daemon {

std::string_view endpoint_name(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kOther:
      return "other";
    case Endpoint::kKvPut:
      return "kv_put";
    case Endpoint::kKvGet:
      return "kv_get";
    case Endpoint::kKvGetStale:
      return "kv_get_stale";
    case Endpoint::kKvDelete:
      return "kv_delete";
    case Endpoint::kKvOther:
      return "kv_other";
    case Endpoint::kSet:
      return "set";
    case Endpoint::kGet:
      return "get";
    case Endpoint::kStatus:
      return "status";
    case Endpoint::kMetrics:
      return "metrics";
    case Endpoint::kLeader:
      return "leader";
    case Endpoint::kSnapshot:
      return "snapshot";
    case Endpoint::kMembers:
      return "members";
    case Endpoint::kMembersAdd:
      return "members_add";
    case Endpoint::kMembersRemove:
      return "members_remove";
    case Endpoint::kCount:
      break;
  }
  return "other";
}

std::size_t ApiMetrics::slot(int code) {
  if (code < kFirstCode || code >= kFirstCode + static_cast<int>(kCodes)) code = 500;
  return static_cast<std::size_t>(code - kFirstCode);
}

void ApiMetrics::record(Endpoint endpoint, int code, std::uint64_t latency_us) {
  Row& row = rows_[static_cast<std::size_t>(endpoint)];
  const std::size_t s = slot(code);
  ++row.count[s];
  row.latency_us_sum[s] += latency_us;
}

std::uint64_t ApiMetrics::count(Endpoint endpoint, int code) const {
  return rows_[static_cast<std::size_t>(endpoint)].count[slot(code)];
}

const std::array<Endpoint, kEndpointCount>& ApiMetrics::sorted_endpoints() {
  static const std::array<Endpoint, kEndpointCount> sorted = [] {
    std::array<Endpoint, kEndpointCount> all{};
    for (std::size_t i = 0; i < kEndpointCount; ++i) all[i] = static_cast<Endpoint>(i);
    std::sort(all.begin(), all.end(),
              [](Endpoint a, Endpoint b) { return endpoint_name(a) < endpoint_name(b); });
    return all;
  }();
  return sorted;
}

}  // namespace raftkv::daemon
