// The --cluster flag: members separated by ';', each "ID,RAFT_ADDR[,HTTP_ADDR]".
// goraft's form "0,:3030;1,:3031;2,:3032" is valid (no HTTP addresses).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/address.h"

namespace raftkv::util {

struct MemberSpec {
  std::uint64_t id = 0;
  Address raft;
  std::optional<Address> http;
};

// The members in the order written, or nullopt with *error set to a short
// reason naming the offending part (bad id, bad address, duplicate id,
// duplicate address, empty spec).
std::optional<std::vector<MemberSpec>> parse_cluster_spec(std::string_view spec,
                                                          std::string* error);

// The HTTP address of a member: its own from the spec, else 127.0.0.1:2020+ID
// (goraft's convention).
Address default_http_address(const MemberSpec& member);

}  // namespace raftkv::util
