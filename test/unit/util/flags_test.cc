#include <catch2/catch.hpp>

#include "util/flags.h"

using namespace raftkv::util;

namespace {

struct Parsed {
  std::uint64_t node = 0;
  bool join = false;
  std::vector<std::string> positional;
  std::string error;
  bool ok = false;
};

Parsed run(std::vector<const char*> args) {
  Parsed parsed;
  FlagParser parser;
  parser.add("node", "ID", "member id", [&](std::string_view v) {
    const auto n = parse_uint(v);
    if (n) parsed.node = *n;
    return n.has_value();
  });
  parser.add_bool("join", "join a cluster", [&] { parsed.join = true; });
  args.insert(args.begin(), "prog");
  parsed.ok =
      parser.parse(static_cast<int>(args.size()), args.data(), &parsed.positional, &parsed.error);
  return parsed;
}

}  // namespace

TEST_CASE("flags take '--name value' and '--name=value'") {
  CHECK(run({"--node", "3"}).node == 3);
  CHECK(run({"--node=4", "--join", "dir"}).node == 4);
  CHECK(run({"--node=4", "--join", "dir"}).join);
  CHECK(run({"--node=4", "--join", "dir"}).positional == std::vector<std::string>{"dir"});
}

TEST_CASE("bad command lines name the flag") {
  CHECK(run({"--bogus"}).error == "unknown flag --bogus");
  CHECK(run({"--node"}).error == "--node: missing value");
  CHECK(run({"--node", "x"}).error == "--node: bad value 'x'");
  CHECK(run({"--join=1"}).error == "--join takes no value");
}

TEST_CASE("durations and sizes") {
  CHECK(parse_duration_ms("250ms") == 250u);
  CHECK(parse_duration_ms("2s") == 2000u);
  CHECK(parse_duration_ms("75") == 75u);
  CHECK_FALSE(parse_duration_ms("2h"));
  CHECK_FALSE(parse_duration_ms("-1"));
  CHECK(parse_size("64k") == 65536u);
  CHECK(parse_size("1m") == 1048576u);
  CHECK_FALSE(parse_size("1x"));
  CHECK_FALSE(parse_uint(""));
  CHECK_FALSE(parse_uint("99999999999999999999999"));
}
