// One parsed HTTP request as the handler receives it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raftkv::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;      // "GET", "PUT", ... (llhttp's spelling)
  std::string path;        // raw request target before '?', still percent-encoded
  std::string query;       // raw, after the first '?', without it; "" if none
  Headers headers;         // in arrival order, names as sent, values trimmed
  std::string body;        // decoded from chunked transfer coding if it was chunked
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive
  int http_major = 1;
  int http_minor = 1;
};

// Value of the first header named `name` (ASCII case-insensitive), or nullptr.
const std::string* find_header(const Headers& headers, std::string_view name);

// ASCII case-insensitive comparison (header names, tokens).
bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace raftkv::http
