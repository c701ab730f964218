// Counters the server keeps for /metrics. Read them on the loop thread.
#pragma once

#include <array>
#include <cstdint>

#include "http/rejection.h"

namespace raftkv::http {

struct ServerMetrics {
  std::uint64_t connections_open = 0;      // gauge
  std::uint64_t connections_accepted = 0;  // total, rejected ones excluded
  std::uint64_t requests = 0;              // handed to the handler
  // Responses queued, by status class: index 1 = 1xx (100 Continue), ..., 5 = 5xx.
  std::array<std::uint64_t, 6> responses_by_class{};
  // Requests and connections the server refused, by reason (the
  // application counts its own refusals).
  RejectionCounts rejected;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;  // bytes the kernel accepted
};

}  // namespace raftkv::http
