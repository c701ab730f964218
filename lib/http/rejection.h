// Why a request or a connection was refused: the `reason` label of
// /metrics' raftkv_http_rejected_total. The server decides the first group
// (syntax, limits, timeouts, overload), the application (the daemon's API)
// the second (what a valid HTTP request asks for); both count into the same
// family, so an operator sees every refusal of hostile input in one place.
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/reason_counts.h"

namespace raftkv::http {

enum class Rejection : std::uint8_t {
  // Decided by the server.
  kMalformed,             // 400: not HTTP/1.x, or ambiguous framing
  kBadChunked,            // 400: broken chunked encoding
  kUriTooLong,            // 414
  kHeaderTooLarge,        // 431: header block over the byte limit
  kTooManyHeaders,        // 431: over the header count limit
  kBodyTooLarge,          // 413: declared or chunked body over the limit
  kConnectionLimit,       // accepted and closed at once: over max_connections
  kHeaderTimeout,         // 408: headers not complete in time
  kBodyTimeout,           // 408: a body stalled
  kIdleTimeout,           // closed: nothing sent between requests
  kOutputBufferOverflow,  // reset: the client does not read its answers
  // Decided by the application.
  kMethodNotAllowed,       // 405
  kBadPercentEncoding,     // 400: in the path or the query string
  kEmptyKey,               // 400
  kKeyTooLarge,            // 413
  kValueTooLarge,          // 413
  kDuplicateParameter,     // 400
  kConflictingParameters,  // 400
  kUnknownParameter,       // 400
  kMissingParameter,       // 400
  kInvalidParameter,       // 400: a value of the wrong form
  kCount,
};

inline constexpr std::size_t kRejectionCount = static_cast<std::size_t>(Rejection::kCount);

// The label value: "malformed", "uri_too_long", ...
const char* rejection_name(Rejection reason);

// One counter per reason.
using RejectionCounts = util::ReasonCounts<Rejection, kRejectionCount>;

}  // namespace raftkv::http
