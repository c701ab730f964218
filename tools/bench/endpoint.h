// Where requests go: a member's HTTP address, the Host header to send, and
// (for --target plain) the path to GET. Parsed from --url or from a
// --cluster spec.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/address.h"

namespace raftkv::bench {

struct Endpoint {
  util::Address address;
  std::string path = "/";

  std::string host_header() const { return address.to_string(); }
};

// "http://host:port[/path]" (port defaults to 80; host numeric or
// "localhost"); nullopt when malformed.
std::optional<Endpoint> parse_url(std::string_view url);
// A comma-separated list of URLs; nullopt (with *bad set to the bad item)
// when any is malformed or the list is empty.
std::optional<std::vector<Endpoint>> parse_url_list(std::string_view list, std::string* bad);

}  // namespace raftkv::bench
