#include "util/cluster_spec.h"

#include <algorithm>
#include <charconv>

namespace raftkv::util {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<MemberSpec> parse_member(std::string_view text, std::string* error) {
  const auto fields = split(text, ',');
  if (fields.size() < 2 || fields.size() > 3) {
    *error = "member '" + std::string(text) + "' is not ID,RAFT_ADDR[,HTTP_ADDR]";
    return std::nullopt;
  }
  MemberSpec member;
  const std::string_view id_text = trim(fields[0]);
  const auto [end, ec] =
      std::from_chars(id_text.data(), id_text.data() + id_text.size(), member.id);
  // The all-ones id is reserved as "nobody" by the core.
  if (ec != std::errc{} || end != id_text.data() + id_text.size() || id_text.empty() ||
      member.id == ~std::uint64_t{0}) {
    *error = "bad member id '" + std::string(id_text) + "'";
    return std::nullopt;
  }
  const auto raft = parse_address(trim(fields[1]));
  if (!raft) {
    *error =
        "bad raft address '" + std::string(trim(fields[1])) + "' of member " + std::string(id_text);
    return std::nullopt;
  }
  member.raft = *raft;
  if (fields.size() == 3) {
    member.http = parse_address(trim(fields[2]));
    if (!member.http) {
      *error = "bad http address '" + std::string(trim(fields[2])) + "' of member " +
               std::string(id_text);
      return std::nullopt;
    }
  }
  return member;
}

bool check_unique(const std::vector<MemberSpec>& members, std::string* error) {
  for (std::size_t i = 0; i < members.size(); ++i) {
    for (std::size_t j = i + 1; j < members.size(); ++j) {
      if (members[i].id == members[j].id) {
        *error = "duplicate member id " + std::to_string(members[i].id);
        return false;
      }
      if (members[i].raft == members[j].raft) {
        *error = "duplicate raft address " + members[i].raft.to_string();
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::optional<std::vector<MemberSpec>> parse_cluster_spec(std::string_view spec,
                                                          std::string* error) {
  std::vector<MemberSpec> members;
  for (const std::string_view part : split(spec, ';')) {
    if (trim(part).empty()) continue;  // tolerate a trailing ';'
    auto member = parse_member(trim(part), error);
    if (!member) return std::nullopt;
    members.push_back(std::move(*member));
  }
  if (members.empty()) {
    *error = "no members";
    return std::nullopt;
  }
  if (!check_unique(members, error)) return std::nullopt;
  return members;
}

Address default_http_address(const MemberSpec& member) {
  if (member.http) return *member.http;
  return Address{"127.0.0.1", static_cast<std::uint16_t>(2020 + member.id)};
}

}  // namespace raftkv::util
