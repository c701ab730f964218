// --leader-only: ask a member's GET /status who leads, and where that
// leader serves HTTP. Only the fields the bench needs are read ("leader"
// and the "members" list's "id" and "http"), with a minimal scanner rather
// than a JSON library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <uv.h>

#include "endpoint.h"
#include "util/address.h"

namespace raftkv::bench {

// The leader's HTTP address from a /status body; nullopt with *error when no
// leader is known or the body does not say where it is.
std::optional<util::Address> leader_from_status(std::string_view body, std::string* error);

struct FetchResult {
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::string error;
};

// One GET on its own connection, running `loop` until it is answered or
// `timeout_ms` passes.
FetchResult http_get(uv_loop_t* loop, const Endpoint& endpoint, std::string_view path,
                     std::uint64_t timeout_ms);

// Finds the leader through the endpoints, retrying (an election may be under
// way) until `deadline_ms` has passed.
std::optional<Endpoint> find_leader(uv_loop_t* loop, const std::vector<Endpoint>& endpoints,
                                    std::uint64_t deadline_ms, std::string* error);

}  // namespace raftkv::bench
