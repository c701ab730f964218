#include "test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>

namespace raftkv::http::testing {

namespace {

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n..." (without the final CRLF).
ClientResponse parse_head(std::string_view head) {
  ClientResponse response;
  std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  REQUIRE(status_line.substr(0, 9) == "HTTP/1.1 ");
  response.status = std::stoi(std::string(status_line.substr(9, 3)));
  while (line_end != std::string_view::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(": ");
    REQUIRE(colon != std::string_view::npos);
    response.headers[lower(std::string(line.substr(0, colon)))] = line.substr(colon + 2);
  }
  return response;
}

}  // namespace

Client::Client(std::uint16_t port, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  if (receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(std::string_view data) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!data.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    REQUIRE(::poll(&p, 1, remaining_ms(deadline)) == 1);
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

Client::Fill Client::fill(std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, remaining_ms(deadline)) != 1) return Fill::kTimeout;
  char chunk[65536];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return Fill::kEof;  // EOF or reset
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return Fill::kData;
}

std::optional<ClientResponse> Client::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (fill(deadline) != Fill::kData) return std::nullopt;
  }
  ClientResponse response = parse_head(std::string_view(buffer_).substr(0, head_end));
  const std::string length_text = response.header("content-length");
  const std::size_t length = length_text.empty() ? 0 : std::stoul(length_text);
  const std::size_t body_start = head_end + 4;
  while (buffer_.size() < body_start + length) {
    if (fill(deadline) != Fill::kData) return std::nullopt;
  }
  response.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return response;
}

bool Client::wait_closed(std::chrono::milliseconds timeout, std::string* rest) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Fill result;
  while ((result = fill(deadline)) == Fill::kData) {
  }
  if (rest != nullptr) *rest = buffer_;
  return result == Fill::kEof;
}

bool Client::readable(std::chrono::milliseconds timeout) {
  if (!buffer_.empty()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

void Client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

void Client::reset() {
  const linger option{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  ::close(fd_);
  fd_ = -1;
}

std::string get(std::string_view target, std::string_view extra_headers) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string put(std::string_view target, std::string_view body) {
  return "PUT " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

}  // namespace raftkv::http::testing
