#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "kv/command.h"
#include "kv/state_machine.h"

using raftkv::kv::ApplyOutcome;
using raftkv::kv::StateMachine;
using raftkv::pb::KvCommand;

namespace {

KvCommand command(KvCommand::Op op, std::string key, std::string value = "",
                  std::string prev = "") {
  KvCommand c;
  c.set_op(op);
  c.set_key(std::move(key));
  c.set_value(std::move(value));
  c.set_prev(std::move(prev));
  return c;
}

}  // namespace

TEST_CASE("put then get, overwrite, delete") {
  StateMachine sm;
  CHECK(sm.apply(command(KvCommand::PUT, "k", "v1")) == ApplyOutcome::kOk);
  REQUIRE(sm.get("k"));
  CHECK(*sm.get("k") == "v1");
  CHECK(sm.apply(command(KvCommand::PUT, "k", "v2")) == ApplyOutcome::kOk);
  CHECK(*sm.get("k") == "v2");
  CHECK(sm.payload_bytes() == 3);
  CHECK(sm.apply(command(KvCommand::DELETE, "k")) == ApplyOutcome::kOk);
  CHECK(sm.get("k") == nullptr);
  CHECK(sm.apply(command(KvCommand::DELETE, "k")) == ApplyOutcome::kNotFound);
  CHECK(sm.payload_bytes() == 0);
}

TEST_CASE("compare-and-set applies only on an exact match") {
  StateMachine sm;
  CHECK(sm.apply(command(KvCommand::CAS, "k", "new", "old")) ==
        ApplyOutcome::kPreconditionFailed);  // absent
  sm.apply(command(KvCommand::PUT, "k", "old"));
  CHECK(sm.apply(command(KvCommand::CAS, "k", "new", "other")) ==
        ApplyOutcome::kPreconditionFailed);
  CHECK(*sm.get("k") == "old");
  CHECK(sm.apply(command(KvCommand::CAS, "k", "new", "old")) == ApplyOutcome::kOk);
  CHECK(*sm.get("k") == "new");
}

TEST_CASE("create applies only when the key is absent") {
  StateMachine sm;
  CHECK(sm.apply(command(KvCommand::CREATE, "k", "a")) == ApplyOutcome::kOk);
  CHECK(sm.apply(command(KvCommand::CREATE, "k", "b")) == ApplyOutcome::kPreconditionFailed);
  CHECK(*sm.get("k") == "a");
}

TEST_CASE("binary keys and values with NUL bytes round-trip") {
  StateMachine sm;
  const std::string key("a\0b", 3);
  const std::string value("\0\xff\x01", 3);
  sm.apply(command(KvCommand::PUT, key, value));
  REQUIRE(sm.get(key));
  CHECK(*sm.get(key) == value);
  CHECK(sm.get(std::string("a")) == nullptr);
}

TEST_CASE("commands encode, decode and describe") {
  KvCommand c = command(KvCommand::CAS, "k\n", "v", "p");
  c.set_origin(2);
  c.set_request_id(99);
  KvCommand back;
  REQUIRE(raftkv::kv::decode_command(raftkv::kv::encode_command(c), &back));
  CHECK(back.request_id() == 99);
  CHECK(back.origin() == 2);
  CHECK(raftkv::kv::describe_command(back) == "cas k\\x0a prev=p value=v");
  CHECK(raftkv::kv::describe_command(command(KvCommand::DELETE, "x")) == "delete x");
  CHECK_FALSE(raftkv::kv::decode_command(std::string("\xff\xff\xff", 3), &back));
}

TEST_CASE("a CommandDecoder reused for many commands decodes each exactly") {
  raftkv::kv::CommandDecoder decoder;
  KvCommand cas = command(KvCommand::CAS, "key-1", std::string(200, 'v'), "old");
  cas.set_origin(3);
  cas.set_request_id(7);
  const KvCommand* out = decoder.decode(raftkv::kv::encode_command(cas));
  REQUIRE(out != nullptr);
  CHECK(out->op() == KvCommand::CAS);
  CHECK(out->value() == std::string(200, 'v'));
  CHECK(out->prev() == "old");
  CHECK(out->request_id() == 7);
  // Fields absent from the next command must not survive from the last.
  out = decoder.decode(raftkv::kv::encode_command(command(KvCommand::DELETE, "k2")));
  REQUIRE(out != nullptr);
  CHECK(out->op() == KvCommand::DELETE);
  CHECK(out->key() == "k2");
  CHECK(out->value().empty());
  CHECK(out->prev().empty());
  CHECK(out->origin() == 0);
  CHECK(out->request_id() == 0);
  CHECK(decoder.decode(std::string("\xff\xff\xff", 3)) == nullptr);
  out = decoder.decode(raftkv::kv::encode_command(command(KvCommand::PUT, "k3", "short")));
  REQUIRE(out != nullptr);
  CHECK(out->key() == "k3");
  CHECK(out->value() == "short");
}

TEST_CASE("for_each visits every pair exactly once") {
  StateMachine sm;
  for (int i = 0; i < 1000; ++i) {
    sm.apply(command(KvCommand::PUT, "k" + std::to_string(i), "v" + std::to_string(i)));
  }
  sm.apply(command(KvCommand::DELETE, "k7"));
  std::map<std::string, std::string> seen;
  sm.for_each([&](std::string_view key, std::string_view value) {
    CHECK(seen.emplace(std::string(key), std::string(value)).second);
  });
  CHECK(seen.size() == 999);
  CHECK(seen.count("k7") == 0);
  CHECK(seen.at("k123") == "v123");
}

TEST_CASE("clear and restore replace the whole state, payload bytes included") {
  StateMachine source;
  source.apply(command(KvCommand::PUT, "a", "1"));
  source.apply(command(KvCommand::PUT, std::string("b\0", 2), std::string("\0\0\0", 3)));
  source.apply(command(KvCommand::PUT, "c", ""));

  StateMachine target;
  target.apply(command(KvCommand::PUT, "old", "value that must vanish"));
  target.apply(command(KvCommand::PUT, "a", "stale"));
  target.clear(source.key_count());
  CHECK(target.key_count() == 0);
  CHECK(target.payload_bytes() == 0);
  source.for_each(
      [&](std::string_view key, std::string_view value) { target.restore(key, value); });

  CHECK(target.key_count() == 3);
  CHECK(target.payload_bytes() == source.payload_bytes());
  CHECK(target.payload_bytes() == 1 + 1 + 2 + 3 + 1);
  CHECK(target.get("old") == nullptr);
  CHECK(*target.get("a") == "1");
  CHECK(*target.get(std::string("b\0", 2)) == std::string("\0\0\0", 3));
  REQUIRE(target.get("c"));
  CHECK(target.get("c")->empty());
}

TEST_CASE("restore of a key already present replaces it and keeps payload bytes right") {
  StateMachine sm;
  sm.clear();
  sm.restore("k", "12345");
  sm.restore("k", "12");
  CHECK(sm.key_count() == 1);
  CHECK(sm.payload_bytes() == 3);
  CHECK(*sm.get("k") == "12");
  // Commands keep working on a restored state.
  CHECK(sm.apply(command(KvCommand::CAS, "k", "xyz", "12")) == ApplyOutcome::kOk);
  CHECK(sm.payload_bytes() == 4);
}
