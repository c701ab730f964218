// Percent-decoding of request targets (RFC 3986) and query strings
// (application/x-www-form-urlencoded, as browsers and curl --data-urlencode
// produce them).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raftkv::http {

// Decodes every %XX (hex digits in either case) into its byte and copies all
// other bytes unchanged; '+' stays '+' (paths: a '+' in a key is a '+').
// Decoded bytes may be anything, including NUL and invalid UTF-8.
// Replaces *out; returns false on a '%' not followed by two hex digits
// (*out is then unspecified).
bool percent_decode(std::string_view in, std::string* out);

// Splits a raw query ("a=1&b=x%20y", without the '?') into decoded
// (name, value) pairs in order. '+' decodes to a space in names and values
// (form encoding; send %2B for a literal '+'). A part without '=' has an
// empty value; empty parts ("a=1&&b=2", trailing '&') are skipped; repeated
// names are all kept. nullopt if any part has invalid percent-encoding.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);
// The same into *out, reusing its elements' buffers (a server parsing every
// request's query allocates nothing once they have grown); false on invalid
// percent-encoding (*out is then unspecified).
bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);

// Splits a request target at the first '?': {path, query}. The query is ""
// when there is no '?'.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

}  // namespace raftkv::http
