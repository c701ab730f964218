#include "kv/state_machine.h"

namespace raftkv::kv {

ApplyOutcome StateMachine::apply(const pb::KvCommand& command) {
  switch (command.op()) {
    case pb::KvCommand::PUT:
      put(command.key(), command.value());
      return ApplyOutcome::kOk;
    case pb::KvCommand::DELETE:
      return erase(command.key());
    case pb::KvCommand::CAS: {
      const std::string* current = get(command.key());
      if (current == nullptr || *current != command.prev()) {
        return ApplyOutcome::kPreconditionFailed;
      }
      put(command.key(), command.value());
      return ApplyOutcome::kOk;
    }
    case pb::KvCommand::CREATE:
      if (get(command.key()) != nullptr) return ApplyOutcome::kPreconditionFailed;
      put(command.key(), command.value());
      return ApplyOutcome::kOk;
    default:
      // An op this version does not know must fail the same way on every
      // member, so it is a deterministic no-op.
      return ApplyOutcome::kPreconditionFailed;
  }
}

const std::string* StateMachine::get(std::string_view key) const {
  const auto it = data_.find(key);
  return it == data_.end() ? nullptr : &it->second;
}

void StateMachine::put(const std::string& key, const std::string& value) {
  auto [it, inserted] = data_.try_emplace(key);
  if (inserted) {
    payload_bytes_ += key.size();
  } else {
    payload_bytes_ -= it->second.size();
  }
  it->second = value;
  payload_bytes_ += value.size();
}

ApplyOutcome StateMachine::erase(const std::string& key) {
  const auto it = data_.find(key);
  if (it == data_.end()) return ApplyOutcome::kNotFound;
  payload_bytes_ -= it->first.size() + it->second.size();
  data_.erase(it);
  return ApplyOutcome::kOk;
}

}  // namespace raftkv::kv
