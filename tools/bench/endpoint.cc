#include "endpoint.h"

#include <sys/socket.h>

namespace raftkv::bench {

std::optional<Endpoint> parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  std::string authority(url.substr(0, slash));
  Endpoint endpoint;
  if (slash != std::string_view::npos) endpoint.path = std::string(url.substr(slash));
  // No port: the HTTP default (":" inside brackets belongs to an IPv6 host).
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket))
    authority += ":80";
  if (authority.front() == ':') return std::nullopt;  // a URL names its host
  auto address = util::parse_address(authority);
  if (!address) return std::nullopt;
  sockaddr_storage storage;
  if (!util::to_sockaddr(*address, &storage)) return std::nullopt;
  endpoint.address = *address;
  return endpoint;
}

std::optional<std::vector<Endpoint>> parse_url_list(std::string_view list, std::string* bad) {
  std::vector<Endpoint> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    auto endpoint = parse_url(item);
    if (!endpoint) {
      *bad = std::string(item);
      return std::nullopt;
    }
    out.push_back(std::move(*endpoint));
  }
  if (out.empty()) {
    *bad = "(empty)";
    return std::nullopt;
  }
  return out;
}

}  // namespace raftkv::bench
