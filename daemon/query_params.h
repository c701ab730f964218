// Checks shared by every handler that takes query parameters (the KV API,
// the goraft forms, /leader and /members): one definition of "unknown or
// repeated parameter" and of a member id, so every endpoint answers 400 the
// same way.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.h"
#include "http/rejection.h"

namespace raftkv::daemon {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Why a request's parameters were refused: the reason /metrics counts it
// under and the one-line message of the 400 answer.
struct ParamProblem {
  http::Rejection reason = http::Rejection::kInvalidParameter;
  std::string message;  // empty: no problem
  explicit operator bool() const { return !message.empty(); }
};

// The value of parameter `name`, or nullptr when absent.
const std::string* find_param(const QueryParams& params, std::string_view name);

// The first parameter not in `allowed`, or a repeated one; no problem if none.
ParamProblem unexpected_param(const QueryParams& params,
                              std::initializer_list<std::string_view> allowed);

// A member id: decimal digits only; kNoNode (2^64-1) is not an id.
std::optional<core::NodeId> parse_member_id(std::string_view text);

}  // namespace raftkv::daemon
