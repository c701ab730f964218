// Network addresses as raftkv's command line writes them: "host:port", or
// ":port" meaning 127.0.0.1 (goraft's form). IPv6 hosts go in brackets:
// "[::1]:2020".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace raftkv::util {

struct Address {
  std::string host;  // numeric IPv4 or IPv6 address, or "localhost"
  std::uint16_t port = 0;

  std::string to_string() const;  // host:port ([v6]:port)
  bool operator==(const Address&) const = default;
};

// Parses "host:port" or ":port"; nullopt when malformed (port 0 is refused).
std::optional<Address> parse_address(std::string_view text);

// Fills a sockaddr_storage for bind/connect; false if the host is not a
// numeric address (or "localhost").
bool to_sockaddr(const Address& address, sockaddr_storage* out);

}  // namespace raftkv::util
