#include <catch2/catch.hpp>

#include "core/types.h"

using raftkv::core::Role;
using raftkv::core::role_name;

TEST_CASE("role names are what /status shows") {
  CHECK(role_name(Role::kLeader) == "leader");
  CHECK(role_name(Role::kFollower) == "follower");
  CHECK(role_name(Role::kCandidate) == "candidate");
  CHECK(role_name(Role::kPreCandidate) == "pre-candidate");
}
