// Test helper: a blocking-socket HTTP client with bounded waits, in the
// test thread. It parses just enough HTTP to check the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace raftkv::http::testing {

using namespace std::chrono_literals;

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Client {
 public:
  // Connects to 127.0.0.1:port. receive_buffer > 0 sets SO_RCVBUF first.
  explicit Client(std::uint16_t port, int receive_buffer = 0);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Sends everything (or fails the test).
  void send(std::string_view data);
  // One response (with a Content-Length body); nullopt if the connection
  // ended or `timeout` passed first.
  std::optional<ClientResponse> read_response(std::chrono::milliseconds timeout = 5s);
  // Waits for the server to close: true on EOF or reset within `timeout`.
  // Unread bytes (if any) are left in *rest.
  bool wait_closed(std::chrono::milliseconds timeout = 5s, std::string* rest = nullptr);
  // Whether bytes (or EOF) are ready to read within `timeout`.
  bool readable(std::chrono::milliseconds timeout);
  void shutdown_write();
  // Closes with SO_LINGER 0: the server sees a reset.
  void reset();

 private:
  enum class Fill { kData, kEof, kTimeout };
  Fill fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// "GET <target> HTTP/1.1" with a Host header and optional extra lines.
std::string get(std::string_view target, std::string_view extra_headers = "");
// "PUT <target>" with a Content-Length body.
std::string put(std::string_view target, std::string_view body);

}  // namespace raftkv::http::testing
