#include "daemon/query_params.h"

#include <algorithm>
#include <charconv>

namespace raftkv::daemon {

const std::string* find_param(const QueryParams& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

ParamProblem unexpected_param(const QueryParams& params,
                              std::initializer_list<std::string_view> allowed) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].first;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return {http::Rejection::kUnknownParameter, "unknown parameter '" + name + "'"};
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (params[j].first == name) {
        return {http::Rejection::kDuplicateParameter, "parameter '" + name + "' given twice"};
      }
    }
  }
  return {};
}

std::optional<core::NodeId> parse_member_id(std::string_view text) {
  core::NodeId value = 0;
  const char* last = text.data() + text.size();
  const auto [end, error] = std::from_chars(text.data(), last, value);
  if (text.empty() || error != std::errc() || end != last || value == core::kNoNode) {
    return std::nullopt;
  }
  return value;
}

}  // namespace raftkv::daemon
