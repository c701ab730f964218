// The daemon's membership bookkeeping (daemon/membership.h) and the admin
// API's request parsing (daemon/members_api.h).
#include "daemon/membership.h"

#include <catch2/catch.hpp>

#include "daemon/members_api.h"

namespace raftkv::daemon {
namespace {

util::MemberSpec spec_member(std::uint64_t id, std::uint16_t raft_port,
                             std::optional<std::uint16_t> http_port = std::nullopt) {
  util::MemberSpec member{id, {"127.0.0.1", raft_port}, std::nullopt};
  if (http_port) member.http = util::Address{"127.0.0.1", *http_port};
  return member;
}

pb::ClusterConfig config_of(std::initializer_list<std::pair<std::uint64_t, bool>> members) {
  pb::ClusterConfig config;
  for (const auto& [id, learner] : members) {
    pb::Member* member = config.add_members();
    member->set_id(id);
    member->set_raft_address("127.0.0.1:" + std::to_string(3000 + id));
    member->set_http_address("127.0.0.1:" + std::to_string(2000 + id));
    member->set_learner(learner);
  }
  return config;
}

std::vector<std::uint64_t> ids_of(const std::vector<transport::Peer>& peers) {
  std::vector<std::uint64_t> ids;
  for (const auto& peer : peers) ids.push_back(peer.id);
  return ids;
}

pb::Entry conf_entry(core::Index index, const pb::ConfChange& change) {
  pb::Entry entry;
  entry.set_index(index);
  entry.set_term(1);
  entry.set_type(pb::ENTRY_CONF_CHANGE);
  entry.set_data(change.SerializeAsString());
  return entry;
}

}  // namespace

TEST_CASE("config_from_spec: voters ordered by id, with raft and HTTP addresses") {
  const pb::ClusterConfig config =
      config_from_spec({spec_member(2, 3032), spec_member(0, 3030, 9000), spec_member(1, 3031)});
  REQUIRE(config.members_size() == 3);
  CHECK(config.members(0).id() == 0);
  CHECK(config.members(0).raft_address() == "127.0.0.1:3030");
  CHECK(config.members(0).http_address() == "127.0.0.1:9000");
  CHECK(config.members(1).http_address() == "127.0.0.1:2021");  // goraft's 2020+ID
  CHECK(config.members(2).id() == 2);
  CHECK(voter_count(config) == 3);
  CHECK(learner_count(config) == 0);
}

TEST_CASE("members_json lists id, addresses and role") {
  CHECK(members_json({}) == "[]");
  CHECK(members_json(config_of({{1, false}, {4, true}})) ==
        "[{\"id\": 1, \"raft\": \"127.0.0.1:3001\", \"http\": \"127.0.0.1:2001\", \"voter\": "
        "true, \"role\": \"voter\"}, {\"id\": 4, \"raft\": \"127.0.0.1:3004\", \"http\": "
        "\"127.0.0.1:2004\", \"voter\": false, \"role\": \"learner\"}]");
}

TEST_CASE("address_conflict: another member's raft or HTTP address") {
  const pb::ClusterConfig config = config_of({{0, false}, {1, false}});
  pb::Member fresh;
  fresh.set_id(5);
  fresh.set_raft_address("127.0.0.1:3005");
  fresh.set_http_address("127.0.0.1:2005");
  CHECK(address_conflict(config, fresh).empty());
  fresh.set_raft_address("localhost:3001");  // the same socket address
  CHECK(address_conflict(config, fresh) == "member 1 already uses raft address 127.0.0.1:3001");
  fresh.set_raft_address("127.0.0.1:3005");
  fresh.set_http_address("127.0.0.1:2000");
  CHECK(address_conflict(config, fresh) == "member 0 already uses http address 127.0.0.1:2000");
}

TEST_CASE("describe_change names the change") {
  pb::ConfChange change;
  change.set_type(pb::ConfChange::ADD_LEARNER);
  change.mutable_member()->set_id(4);
  change.mutable_member()->set_raft_address("127.0.0.1:3004");
  change.mutable_member()->set_http_address("127.0.0.1:2004");
  CHECK(describe_change(change) == "add learner 4 (raft 127.0.0.1:3004, http 127.0.0.1:2004)");
  change.set_type(pb::ConfChange::PROMOTE);
  CHECK(describe_change(change) == "promote 4 to voter");
  change.set_type(pb::ConfChange::REMOVE);
  CHECK(describe_change(change) == "remove 4");
}

TEST_CASE("named_on_disk: a snapshot's configuration or a configuration entry") {
  std::vector<pb::Entry> entries(2);
  entries[0].set_type(pb::ENTRY_NORMAL);
  CHECK_FALSE(named_on_disk(4, nullptr, entries));
  const pb::ClusterConfig with_four = config_of({{0, false}, {4, true}});
  CHECK(named_on_disk(4, &with_four, {}));
  pb::ConfChange change;
  change.set_type(pb::ConfChange::ADD_LEARNER);
  change.mutable_member()->set_id(4);
  *change.mutable_config() = with_four;
  entries.push_back(conf_entry(3, change));
  CHECK(named_on_disk(4, nullptr, entries));
  CHECK_FALSE(named_on_disk(5, nullptr, entries));
}

TEST_CASE("MembershipView: a joining member waits, is added, then removed") {
  MembershipView view(4, /*joining=*/true, {spec_member(0, 3000), spec_member(4, 3004)});
  CHECK(view.standing() == Standing::kJoining);
  CHECK(view.accepts_unknown_peers());
  std::vector<transport::Peer> peers;
  REQUIRE(view.peers_changed({}, &peers));
  CHECK(ids_of(peers) == std::vector<std::uint64_t>{0});  // the members --cluster names
  CHECK_FALSE(view.peers_changed({}, &peers));

  // Catching up through the cluster's history: configurations without it
  // keep it joining.
  CHECK_FALSE(view.on_config(config_of({{0, false}, {1, false}, {2, false}})));
  CHECK(view.standing() == Standing::kJoining);
  CHECK_FALSE(view.peers_changed({}, &peers));

  CHECK(view.on_config(config_of({{0, false}, {1, false}, {2, false}, {4, true}})));
  CHECK(view.standing() == Standing::kMember);
  CHECK_FALSE(view.accepts_unknown_peers());
  REQUIRE(view.peers_changed({}, &peers));
  CHECK(ids_of(peers) == std::vector<std::uint64_t>{0, 1, 2});
  CHECK(peers[1].address == util::Address{"127.0.0.1", 3001});

  CHECK(view.on_config(config_of({{0, false}, {1, false}, {2, false}})));
  CHECK(view.standing() == Standing::kRemoved);
  CHECK_FALSE(view.accepts_unknown_peers());

  // The REMOVE entry was truncated away: a member again.
  CHECK(view.on_config(config_of({{0, false}, {1, false}, {2, false}, {4, false}})));
  CHECK(view.standing() == Standing::kMember);
}

TEST_CASE("MembershipView: a bootstrap member removed is removed") {
  MembershipView view(1, /*joining=*/false, {spec_member(0, 3000), spec_member(1, 3001)});
  CHECK(view.standing() == Standing::kMember);
  CHECK_FALSE(view.on_config(config_of({{0, false}, {1, false}})));
  CHECK(view.on_config(config_of({{0, false}})));
  CHECK(view.standing() == Standing::kRemoved);
  CHECK(view.started_joining() == false);
}

TEST_CASE("MembershipView: peers follow the configuration, plus members still tracked") {
  MembershipView view(0, false, {spec_member(0, 3000), spec_member(1, 3001), spec_member(2, 3002)});
  view.on_config(config_of({{0, false}, {1, false}, {2, false}}));
  std::vector<transport::Peer> peers;
  REQUIRE(view.peers_changed({}, &peers));
  CHECK(ids_of(peers) == std::vector<std::uint64_t>{1, 2});

  // 2 removed, but the leader still replicates to it: it stays a peer, at
  // the address it had.
  view.on_config(config_of({{0, false}, {1, false}}));
  CHECK_FALSE(view.peers_changed({1, 2}, &peers));
  REQUIRE(view.peers_changed({1}, &peers));
  CHECK(ids_of(peers) == std::vector<std::uint64_t>{1});
  REQUIRE(view.peers_changed({1, 2}, &peers));
  CHECK(peers[1].address == util::Address{"127.0.0.1", 3002});

  // A new member's address comes from the configuration.
  view.on_config(config_of({{0, false}, {1, false}, {7, true}}));
  REQUIRE(view.peers_changed({}, &peers));
  CHECK(ids_of(peers) == std::vector<std::uint64_t>{1, 7});
  CHECK(peers[1].address == util::Address{"127.0.0.1", 3007});
  // Self and unknown ids are never peers.
  CHECK_FALSE(view.peers_changed({0, 99}, &peers));
}

TEST_CASE("ChangeWaiters: applied, expired, failed") {
  ChangeWaiters waiters;
  std::vector<ChangeOutcome> outcomes;
  auto record = [&outcomes](const ChangeOutcome& outcome) { outcomes.push_back(outcome); };
  waiters.add(1, 100, record);
  waiters.add(2, 200, record);
  waiters.add(3, 300, record);
  CHECK(waiters.size() == 3);

  CHECK(waiters.applied(1, 42, config_of({{0, false}})));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].status == ChangeStatus::kApplied);
  CHECK(outcomes[0].index == 42);
  CHECK(outcomes[0].config.members_size() == 1);
  CHECK_FALSE(waiters.applied(1, 42, {}));  // answered once
  CHECK_FALSE(waiters.applied(9, 42, {}));  // not ours

  CHECK(waiters.expire(150) == 0);  // 1 was answered already
  CHECK(waiters.expire(200) == 1);
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[1].status == ChangeStatus::kTimeout);
  CHECK_FALSE(waiters.applied(2, 43, {}));  // too late: it got its 504

  waiters.fail_all({ChangeStatus::kTimeout, 0, {}, "shutting down"});
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[2].reason == "shutting down");
  CHECK(waiters.size() == 0);
}

TEST_CASE("parse_add_member: id, raft, optional http") {
  pb::Member member;
  ParamProblem error;
  REQUIRE(parse_add_member({{"id", "4"}, {"raft", ":3034"}, {"http", "10.0.0.4:2020"}}, &member,
                           &error));
  CHECK(member.id() == 4);
  CHECK(member.raft_address() == "127.0.0.1:3034");
  CHECK(member.http_address() == "10.0.0.4:2020");
  CHECK(member.learner());
  REQUIRE(parse_add_member({{"id", "5"}, {"raft", "10.0.0.5:3030"}}, &member, &error));
  CHECK(member.http_address() == "127.0.0.1:2025");

  const std::vector<QueryParams> bad = {
      {},
      {{"id", "4"}},
      {{"raft", ":3034"}},
      {{"id", "x"}, {"raft", ":3034"}},
      {{"id", "-1"}, {"raft", ":3034"}},
      {{"id", "18446744073709551615"}, {"raft", ":3034"}},
      {{"id", "4"}, {"raft", "host.example:3034"}},
      {{"id", "4"}, {"raft", "3034"}},
      {{"id", "4"}, {"raft", ":3034"}, {"http", ":0"}},
      {{"id", "4"}, {"raft", ":3034"}, {"x", "1"}},
      {{"id", "4"}, {"id", "5"}, {"raft", ":3034"}},
  };
  for (const QueryParams& params : bad) {
    INFO("case " << (&params - bad.data()));
    CHECK_FALSE(parse_add_member(params, &member, &error));
    CHECK(error);
  }
}

TEST_CASE("parse_remove_member: /members/ID, no parameters") {
  ParamProblem error;
  CHECK(parse_remove_member("/members/7", {}, &error) == 7u);
  CHECK(parse_remove_member("/members/0", {}, &error) == 0u);
  for (const char* path : {"/members/", "/members/x", "/members/1/2", "/members/+1", "/other/1"}) {
    INFO(path);
    CHECK_FALSE(parse_remove_member(path, {}, &error));
    CHECK(error);
  }
  CHECK_FALSE(parse_remove_member("/members/1", {{"force", "1"}}, &error));
}

TEST_CASE("change_http_status") {
  CHECK(change_http_status(ChangeStatus::kApplied) == 200);
  CHECK(change_http_status(ChangeStatus::kNotFound) == 404);
  CHECK(change_http_status(ChangeStatus::kRefused) == 409);
  CHECK(change_http_status(ChangeStatus::kUnavailable) == 503);
  CHECK(change_http_status(ChangeStatus::kTimeout) == 504);
  ChangeOutcome applied{ChangeStatus::kApplied, 9, config_of({{1, false}}), ""};
  CHECK(applied_body(applied).rfind("{\"index\": 9, \"members\": [{\"id\": 1,", 0) == 0);
}

}  // namespace raftkv::daemon
