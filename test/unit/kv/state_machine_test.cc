#include <catch2/catch.hpp>

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
