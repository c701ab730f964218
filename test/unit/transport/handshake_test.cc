#include "transport/handshake.h"

#include <catch2/catch.hpp>

#include "harness.h"
#include "transport/priority.h"

namespace raftkv::transport {
namespace {

bool members_1_to_3(core::NodeId id) {
  return id >= 1 && id <= 3;
}

std::string encode(const pb::Handshake& handshake) {
  return handshake.SerializeAsString();
}

TEST_CASE("a well-formed handshake from a member to us is accepted", "[handshake]") {
  const HandshakeCheck check = check_handshake(encode(make_handshake(3, 2)), 2, members_1_to_3);
  CHECK(check.ok);
  CHECK(check.from == 3);
}

TEST_CASE("bad handshakes are refused with a reason", "[handshake]") {
  pb::Handshake bad_magic = make_handshake(1, 2);
  bad_magic.set_magic(0x48545450);
  pb::Handshake bad_version = make_handshake(1, 2);
  bad_version.set_version(2);
  for (const std::string& payload :
       {encode(bad_magic), encode(bad_version), encode(make_handshake(9, 2)),
        encode(make_handshake(1, 3)), encode(make_handshake(2, 2)), std::string("\xff\xff\xff")}) {
    const HandshakeCheck check = check_handshake(payload, 2, members_1_to_3);
    CHECK_FALSE(check.ok);
    CHECK_FALSE(check.reason.empty());
  }
}

TEST_CASE("heartbeats and elections take the control lane, entries the data lane", "[priority]") {
  CHECK(lane_of(test::heartbeat(2, 1)) == Lane::kControl);
  CHECK(lane_of(test::vote(2, 1)) == Lane::kControl);
  pb::Message response;
  response.mutable_append_entries_response()->set_success(true);
  CHECK(lane_of(response) == Lane::kControl);
  pb::Message timeout_now;
  timeout_now.mutable_timeout_now();
  CHECK(lane_of(timeout_now) == Lane::kControl);
  pb::Message read_index;
  read_index.mutable_read_index_request()->add_request_ids(1);
  CHECK(lane_of(read_index) == Lane::kControl);
  CHECK(lane_of(test::entries(2, 1, 10)) == Lane::kData);
  pb::Message propose;
  propose.mutable_propose()->add_entries()->set_data("x");
  CHECK(lane_of(propose) == Lane::kData);
}

}  // namespace
}  // namespace raftkv::transport
