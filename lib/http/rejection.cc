#include "http/rejection.h"

#include <iterator>

namespace raftkv::http {

const char* rejection_name(Rejection reason) {
  // Indexed by the enum: keep the two lists in the same order.
  static constexpr const char* kNames[] = {
      "malformed",
      "bad_chunked",
      "uri_too_long",
      "header_too_large",
      "too_many_headers",
      "body_too_large",
      "connection_limit",
      "header_timeout",
      "body_timeout",
      "idle_timeout",
      "output_buffer_overflow",
      "method_not_allowed",
      "bad_percent_encoding",
      "empty_key",
      "key_too_large",
      "value_too_large",
      "duplicate_parameter",
      "conflicting_parameters",
      "unknown_parameter",
      "missing_parameter",
      "invalid_parameter",
  };
  static_assert(std::size(kNames) == kRejectionCount, "a name for every Rejection");
  const auto index = static_cast<std::size_t>(reason);
  return index < kRejectionCount ? kNames[index] : "unknown";
}

}  // namespace raftkv::http
