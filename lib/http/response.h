// An HTTP response as the handler builds it, and its wire form. The
// serialisation is independent of the server so that a client or a test can
// reuse it.
#pragma once

#include <string>
#include <string_view>

#include "http/request.h"

namespace raftkv::http {

struct Response {
  int status = 200;
  std::string body;
  // More body bytes, sent after `body` without being copied into it (a
  // stored value): they must stay valid until Responder::send() returns.
  // The server copies whatever the socket does not take at once.
  std::string_view borrowed_body;
  // Must outlive the response (a string literal): a std::string here
  // allocated on every response ("application/json" is past the small-string
  // buffer).
  std::string_view content_type = "application/json";
  // Extra headers. The server owns framing: Content-Length, Connection and
  // Transfer-Encoding given here are dropped, and so is any header whose
  // name or value contains CR, LF or NUL (response splitting).
  Headers headers;
};

// What the Connection header of a serialised response says.
enum class ConnectionHeader { kNone, kKeepAlive, kClose };

// "OK", "Not Found", ...; "Unknown" for codes without a standard phrase.
std::string_view reason_phrase(int status);

// Statuses outside 200..599 are served as 500: a handler bug must not
// produce an interim or malformed response.
int sanitize_status(int status);

// Whether a response with this status carries no body and no Content-Length
// (204 and 304, RFC 9110 §8.6).
bool status_forbids_body(int status);

// Status line and header block, ending with the empty line; the body is
// sent separately (the server writes it without copying). Content-Length is
// the size of body plus borrowed_body unless the status forbids a body.
std::string serialize_head(const Response& response, ConnectionHeader connection);
// The same, appended to `out` (the server reuses one buffer for every head).
void serialize_head(const Response& response, ConnectionHeader connection, std::string* out);

// {"error": "<message>"} plus a newline, with the given status.
Response error_response(int status, std::string_view message);

}  // namespace raftkv::http
