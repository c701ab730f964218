// libFuzzer target: bytes -> util::parse_cluster_spec, util::parse_address
// and the number/duration/size parsers, and -- split at NUL bytes into an
// argv -- util::FlagParser::parse with flags like raftkvd's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/address.h"
#include "util/cluster_spec.h"
#include "util/flags.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string error;
  const auto members = raftkv::util::parse_cluster_spec(text, &error);
  if (members) {
    check(!members->empty());
    std::set<std::uint64_t> ids;
    for (const auto& member : *members) {
      check(ids.insert(member.id).second);  // duplicates are refused
      (void)raftkv::util::default_http_address(member);
    }
  } else {
    check(!error.empty());
  }
  (void)raftkv::util::parse_address(text);
  (void)raftkv::util::parse_uint(text);
  (void)raftkv::util::parse_duration_ms(text);
  (void)raftkv::util::parse_size(text);

  // argv: the input split at NUL bytes.
  std::vector<std::string> args{"prog"};
  std::string current;
  for (char c : text) {
    if (c == '\0') {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  args.push_back(current);
  if (args.size() > 64) return 0;
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());

  raftkv::util::FlagParser parser;
  std::uint64_t node = 0, timeout = 0, bytes = 0;
  bool flag = false;
  std::string cluster_error;
  parser.add("node", "ID", "id", [&](std::string_view v) {
    auto n = raftkv::util::parse_uint(v);
    if (n) node = *n;
    return n.has_value();
  });
  parser.add("cluster", "SPEC", "members", [&](std::string_view v) {
    return raftkv::util::parse_cluster_spec(v, &cluster_error).has_value();
  });
  parser.add("http", "ADDR", "address",
             [](std::string_view v) { return raftkv::util::parse_address(v).has_value(); });
  parser.add("request-timeout", "MS", "timeout", [&](std::string_view v) {
    auto n = raftkv::util::parse_duration_ms(v);
    if (n) timeout = *n;
    return n.has_value();
  });
  parser.add("max-value-bytes", "N", "size", [&](std::string_view v) {
    auto n = raftkv::util::parse_size(v);
    if (n) bytes = *n;
    return n.has_value();
  });
  parser.add_bool("join", "boolean", [&] { flag = true; });
  std::vector<std::string> positional;
  std::string parse_error;
  const bool ok =
      parser.parse(static_cast<int>(argv.size()), argv.data(), &positional, &parse_error);
  if (!ok) check(!parse_error.empty());
  (void)parser.usage();
  (void)node;
  (void)timeout;
  (void)bytes;
  (void)flag;
  return 0;
}
