#include <catch2/catch.hpp>

#include "util/cluster_spec.h"

using raftkv::util::default_http_address;
using raftkv::util::parse_cluster_spec;

TEST_CASE("goraft's cluster form parses unchanged") {
  std::string error;
  const auto members = parse_cluster_spec("0,:3030;1,:3031;2,:3032", &error);
  REQUIRE(members);
  REQUIRE(members->size() == 3);
  CHECK((*members)[1].id == 1);
  CHECK((*members)[1].raft.to_string() == "127.0.0.1:3031");
  CHECK_FALSE((*members)[1].http);
  CHECK(default_http_address((*members)[2]).to_string() == "127.0.0.1:2022");
}

TEST_CASE("members may name their HTTP address") {
  std::string error;
  const auto members = parse_cluster_spec("7,127.0.0.2:4000,127.0.0.2:5000;", &error);
  REQUIRE(members);
  CHECK(default_http_address(members->front()).to_string() == "127.0.0.2:5000");
}

TEST_CASE("bad cluster specs are refused with a reason") {
  struct Case {
    const char* spec;
    const char* reason;
  };
  for (const Case c : {Case{"", "no members"}, Case{"x,:1", "bad member id 'x'"},
                       Case{"1,:0", "bad raft address ':0' of member 1"},
                       Case{"1,:1,:bad", "bad http address ':bad' of member 1"},
                       Case{"1,:1;1,:2", "duplicate member id 1"},
                       Case{"1,:1;2,:1", "duplicate raft address 127.0.0.1:1"},
                       Case{"1", "member '1' is not ID,RAFT_ADDR[,HTTP_ADDR]"}}) {
    std::string error;
    INFO(c.spec);
    CHECK_FALSE(parse_cluster_spec(c.spec, &error));
    CHECK(error == c.reason);
  }
}
