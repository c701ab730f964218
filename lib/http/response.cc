#include "http/response.h"

#include <charconv>
#include <cstdint>

#include "http/json.h"

namespace raftkv::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

int sanitize_status(int status) {
  return (status >= 200 && status <= 599) ? status : 500;
}

bool status_forbids_body(int status) {
  return status == 204 || status == 304;
}

namespace {

// A plain loop: find_first_of with a three-byte set called memchr once per
// byte of the text, on every response's Content-Type.
bool has_forbidden_bytes(std::string_view text) {
  for (const char c : text) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

// Headers the server computes itself; a handler's copy would contradict them.
bool is_framing_header(std::string_view name) {
  return equals_ignore_case(name, "Content-Length") || equals_ignore_case(name, "Connection") ||
         equals_ignore_case(name, "Transfer-Encoding");
}

void append_header(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(": ").append(value).append("\r\n");
}

// Decimal digits without a temporary string (every response has two).
std::string_view decimal(std::uint64_t value, char (&buffer)[24]) {
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return {buffer, static_cast<std::size_t>(end - buffer)};
}

}  // namespace

std::string serialize_head(const Response& response, ConnectionHeader connection) {
  std::string head;
  serialize_head(response, connection, &head);
  return head;
}

namespace {

// The head up to Content-Length's value, for one status and Content-Type.
// Nearly every response of a server repeats the last one's (200 with the
// same type), so the prefix is kept per thread and reused: assembling it
// piece by piece (a dozen appends, the Content-Type scan) was a tenth of
// the instructions per request in callgrind.
struct HeadPrefix {
  int status = -1;
  std::string content_type;
  std::string text;
};

const std::string& head_prefix(int status, std::string_view content_type) {
  thread_local HeadPrefix cached;
  if (cached.status == status && cached.content_type == content_type) return cached.text;
  cached.status = status;
  cached.content_type.assign(content_type);
  std::string& head = cached.text;
  head.clear();
  char digits[24];
  head.append("HTTP/1.1 ").append(decimal(static_cast<std::uint64_t>(status), digits)).append(" ");
  head.append(reason_phrase(status)).append("\r\n");
  if (!content_type.empty() && !has_forbidden_bytes(content_type)) {
    append_header(&head, "Content-Type", content_type);
  }
  head.append("Content-Length: ");
  return head;
}

}  // namespace

void serialize_head(const Response& response, ConnectionHeader connection, std::string* out) {
  std::string& head = *out;
  const int status = sanitize_status(response.status);
  char digits[24];
  if (status_forbids_body(status)) {
    head.append("HTTP/1.1 ")
        .append(decimal(static_cast<std::uint64_t>(status), digits))
        .append(" ");
    head.append(reason_phrase(status)).append("\r\n");
  } else {
    head.append(head_prefix(status, response.content_type));
    head.append(decimal(response.body.size() + response.borrowed_body.size(), digits));
    head.append("\r\n");
  }
  if (connection == ConnectionHeader::kClose) append_header(&head, "Connection", "close");
  if (connection == ConnectionHeader::kKeepAlive) append_header(&head, "Connection", "keep-alive");
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || is_framing_header(name) || has_forbidden_bytes(name) ||
        has_forbidden_bytes(value)) {
      continue;
    }
    append_header(&head, name, value);
  }
  head.append("\r\n");
}

Response error_response(int status, std::string_view message) {
  Response response;
  response.status = status;
  response.body = "{\"error\": \"" + json_escape(message) + "\"}\n";
  return response;
}

}  // namespace raftkv::http
