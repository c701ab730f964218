// Counters the server keeps for /metrics. Read them on the loop thread.
#pragma once

#include <array>
#include <cstdint>

namespace raftkv::http {

struct ServerMetrics {
  std::uint64_t connections_open = 0;      // gauge
  std::uint64_t connections_accepted = 0;  // total, rejected ones excluded
  std::uint64_t connections_rejected = 0;  // over max_connections or while closing
  std::uint64_t requests = 0;              // handed to the handler
  // Responses queued, by status class: index 1 = 1xx (100 Continue), ..., 5 = 5xx.
  std::array<std::uint64_t, 6> responses_by_class{};
  std::uint64_t parse_errors = 0;      // malformed HTTP, answered 400
  std::uint64_t limit_errors = 0;      // 413, 414, 431
  std::uint64_t header_timeouts = 0;   // 408 while headers were incomplete
  std::uint64_t body_timeouts = 0;     // 408 while a body stalled
  std::uint64_t idle_timeouts = 0;     // closed between requests
  std::uint64_t output_overflows = 0;  // closed: client did not read its responses
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;  // bytes the kernel accepted
};

}  // namespace raftkv::http
