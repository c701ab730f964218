// libFuzzer target: bytes -> http::RequestParser (with small limits so that
// every limit is reachable), fed in pieces whose sizes come from the input,
// then finish(). Every parsed request is taken out and checked for the
// invariants the server relies on. No crash, no sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/limits.h"
#include "http/request_parser.h"
#include "http/url.h"

using raftkv::http::Limits;
using raftkv::http::RequestParser;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void exercise_request(raftkv::http::Request&& request, const Limits& limits) {
  check(request.body.size() <= limits.max_body_bytes);
  check(request.path.size() + request.query.size() <= limits.max_url_bytes + 1);
  check(request.headers.size() <= limits.max_headers);
  std::string decoded;
  (void)raftkv::http::percent_decode(request.path, &decoded);
  (void)raftkv::http::parse_query(request.query);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: the piece size (1..256 bytes per feed(), 0 = all at once).
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Limits limits;
  limits.max_url_bytes = 256;
  limits.max_header_bytes = 512;
  limits.max_headers = 8;
  limits.max_body_bytes = 1024;
  RequestParser parser(limits);

  std::size_t pos = 0;
  int requests = 0;
  bool failed = false;
  while (pos < input.size() && !failed && requests < 1000) {
    const std::string_view chunk = input.substr(pos, std::min(piece, input.size() - pos));
    // A chunk may hold several pipelined requests.
    std::size_t used = 0;
    while (used < chunk.size()) {
      const auto result = parser.feed(chunk.substr(used));
      check(result.consumed <= chunk.size() - used);
      if (result.status == RequestParser::Status::kError) {
        check(parser.error_status() >= 400 && parser.error_status() <= 499);
        check(!parser.error_message().empty());
        failed = true;
        break;
      }
      used += result.consumed;
      if (result.status == RequestParser::Status::kRequest) {
        ++requests;
        (void)parser.take_expect_continue();
        exercise_request(parser.take_request(), limits);
        continue;
      }
      check(used == chunk.size());  // kNeedMore consumes everything
    }
    pos += chunk.size();
  }
  if (!failed) {
    const auto result = parser.finish();
    if (result.status == RequestParser::Status::kError) {
      check(parser.error_status() >= 400 && parser.error_status() <= 499);
    }
  }
  return 0;
}
