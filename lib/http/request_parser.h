// Incremental HTTP/1.1 request parser: llhttp plus raftkv's limits. Knows
// nothing about sockets, so a client, a fuzzer or a test can drive it.
//
// Happy path: feed() bytes as they arrive; data callbacks append spans (a
// URL, header or body may arrive in any number of pieces); when a message
// completes, llhttp is paused (HPE_PAUSED from on_message_complete) and
// feed() returns kRequest with the number of bytes consumed, leaving the
// next pipelined request's bytes to the caller. take_request() then moves
// the request out and the next feed() starts on the next request.
//
// Failure modes: llhttp errors (malformed syntax, smuggling attempts such as
// Content-Length together with chunked: lenient flags stay off) and limit
// violations return kError with error_status() 400/413/414/431 and a
// message. Errors are sticky, as in llhttp: the connection must be closed.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/limits.h"
#include "http/rejection.h"
#include "http/request.h"

namespace raftkv::http {

class RequestParser {
 public:
  enum class Status { kNeedMore, kRequest, kError };
  struct Result {
    Status status;
    std::size_t consumed;  // bytes of the input used (all of them for kNeedMore)
  };
  // Where the parser is within the current message.
  enum class Phase { kIdle, kHeaders, kBody };

  explicit RequestParser(const Limits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses from `data` until one request completes, an error occurs, or the
  // input is used up.
  Result feed(std::string_view data);
  // The peer will send nothing more: kError if a request was cut short.
  Result finish();
  // The request completed by the last kRequest result.
  Request take_request();
  // Hands a request back once the handler is done with it, so that the next
  // one reuses its buffers (the header vector, strings that outgrew the
  // small-string buffer) instead of allocating them again.
  void recycle(Request&& used);

  Phase phase() const { return phase_; }
  // True once per request whose headers asked "Expect: 100-continue" with an
  // acceptable body, while its body is still to come.
  bool take_expect_continue();

  int error_status() const { return error_status_; }
  // Which limit or rule the request broke, for the server's counters.
  Rejection error_reason() const { return error_reason_; }
  const std::string& error_message() const { return error_message_; }

 private:
  static const llhttp_settings_t& settings();
  static RequestParser& self(llhttp_t* parser);
  static int on_message_begin(llhttp_t* parser);
  static int on_url(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_field_complete(llhttp_t* parser);
  static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_value_complete(llhttp_t* parser);
  static int on_headers_complete(llhttp_t* parser);
  static int on_body(llhttp_t* parser, const char* at, std::size_t length);
  static int on_chunk_header(llhttp_t* parser);
  static int on_chunk_complete(llhttp_t* parser);
  void note_chunk_end(const char* from);
  static int on_message_complete(llhttp_t* parser);

  int reject(Rejection reason, int status, std::string message, int llhttp_code);
  bool add_header_bytes(std::size_t count);
  int check_headers();
  Result fail_from_llhttp(llhttp_errno_t error);

  const Limits limits_;
  llhttp_t parser_;
  Phase phase_ = Phase::kIdle;
  Request request_;
  std::string url_;
  bool in_field_ = false;  // the last span was part of a header name
  // To tell a value split across reads from an obs-fold (on_header_value).
  std::uint64_t feed_count_ = 0;      // calls of feed()
  const char* data_begin_ = nullptr;  // the buffer of the current feed()
  const char* data_end_ = nullptr;
  std::size_t value_spans_ = 0;      // spans of the current header value so far
  std::uint64_t value_feed_ = 0;     // the feed() of its last span
  bool value_ended_buffer_ = false;  // its last span ran to the end of the buffer
  std::size_t header_bytes_ = 0;
  // llhttp 8.1 (non-strict build) skips the two bytes after a chunk's data
  // without checking that they are CRLF. We collect them (they may straddle
  // feed() calls) and check them in on_chunk_complete.
  std::uint64_t chunk_left_ = 0;    // data bytes of the current chunk still to come
  bool chunk_end_pending_ = false;  // a chunk's data ended; its CRLF is being collected
  std::string chunk_end_;           // the bytes after the data so far (at most 2)
  bool complete_ = false;
  bool expect_continue_ = false;
  int error_status_ = 0;
  Rejection error_reason_ = Rejection::kMalformed;
  std::string error_message_;
};

}  // namespace raftkv::http
