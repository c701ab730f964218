#include "http/url.h"

namespace raftkv::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether decode() would change anything.
bool needs_decoding(std::string_view in, bool plus_is_space) {
  for (const char c : in) {
    if (c == '%' || (c == '+' && plus_is_space)) return true;
  }
  return false;
}

// Shared by paths and queries; they differ only in what '+' means.
bool decode(std::string_view in, bool plus_is_space, std::string* out) {
  // Most keys and parameters need no decoding: one copy, no per-byte appends.
  if (!needs_decoding(in, plus_is_space)) {
    out->assign(in);
    return true;
  }
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else if (c != '%') {
      out->push_back(c);
    } else {
      if (in.size() - i < 3) return false;  // needs '%' and two digits
      const int high = hex_value(in[i + 1]);
      const int low = hex_value(in[i + 2]);
      if (high < 0 || low < 0) return false;
      out->push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return true;
}

}  // namespace

bool percent_decode(std::string_view in, std::string* out) {
  return decode(in, false, out);
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!parse_query(query, &pairs)) return std::nullopt;
  return pairs;
}

bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>* out) {
  std::size_t count = 0;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    if (count == out->size()) out->emplace_back();
    auto& [name, value] = (*out)[count++];
    const std::size_t eq = part.find('=');
    if (!decode(part.substr(0, eq), true, &name)) return false;
    if (eq == std::string_view::npos) {
      value.clear();
    } else if (!decode(part.substr(eq + 1), true, &value)) {
      return false;
    }
  }
  out->resize(count);
  return true;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

}  // namespace raftkv::http
