#include <catch2/catch.hpp>

#include "util/address.h"

using raftkv::util::parse_address;

TEST_CASE("goraft's :port form means 127.0.0.1") {
  const auto address = parse_address(":3030");
  REQUIRE(address);
  CHECK(address->host == "127.0.0.1");
  CHECK(address->port == 3030);
}

TEST_CASE("host:port and bracketed IPv6 parse") {
  CHECK(parse_address("10.0.0.7:2020")->to_string() == "10.0.0.7:2020");
  CHECK(parse_address("[::1]:2020")->host == "::1");
  CHECK(parse_address("localhost:1")->port == 1);
}

TEST_CASE("malformed addresses are refused") {
  for (const char* bad : {"", ":", "3030", ":0", ":65536", ":30x", "::1:80", "host name:80",
                          "example.com:80", ":-1"}) {
    INFO(bad);
    CHECK_FALSE(parse_address(bad));
  }
}
