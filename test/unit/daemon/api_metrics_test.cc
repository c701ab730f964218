// ApiMetrics: the per-(endpoint, code) counters behind /metrics'
// raftkv_http_responses_total and raftkv_http_response_seconds_sum.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/api_metrics.h"

using raftkv::daemon::ApiMetrics;
using raftkv::daemon::Endpoint;

TEST_CASE("responses are counted and listed by endpoint name, then code", "[api-metrics]") {
  ApiMetrics metrics;
  metrics.record(Endpoint::kStatus, 200, 5);
  metrics.record(Endpoint::kKvPut, 503, 7);
  metrics.record(Endpoint::kKvPut, 200, 10);
  metrics.record(Endpoint::kKvPut, 200, 20);
  metrics.record(Endpoint::kKvGetStale, 404, 1);
  metrics.record(Endpoint::kOther, 999, 2);  // out of range: counted as 500
  CHECK(metrics.count(Endpoint::kKvPut, 200) == 2);
  CHECK(metrics.count(Endpoint::kKvGet, 200) == 0);
  std::vector<std::string> lines;
  metrics.for_each([&](std::string_view name, int code, std::uint64_t count, std::uint64_t sum) {
    lines.push_back(std::string(name) + " " + std::to_string(code) + " " + std::to_string(count) +
                    " " + std::to_string(sum));
  });
  CHECK(lines == std::vector<std::string>{"kv_get_stale 404 1 1", "kv_put 200 2 30",
                                          "kv_put 503 1 7", "other 500 1 2", "status 200 1 5"});
}

TEST_CASE("every endpoint has its own label", "[api-metrics]") {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < raftkv::daemon::kEndpointCount; ++i) {
    names.emplace_back(raftkv::daemon::endpoint_name(static_cast<Endpoint>(i)));
  }
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}
