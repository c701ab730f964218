#include "kv/state_machine.h"

#include <algorithm>

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

void StateMachine::for_each(const PairVisitor& visit) const {
  for (const auto& [key, value] : data_) visit(key, value);
}

void StateMachine::clear(std::size_t expected_keys) {
  // Swapping with a fresh map frees the buckets too (clear() keeps them).
  decltype(data_) empty;
  data_.swap(empty);
  payload_bytes_ = 0;
  // A hint from a snapshot header: capped so that a wrong count cannot
  // allocate an absurd bucket array up front.
  constexpr std::size_t kMaxReserve = std::size_t{1} << 26;
  if (expected_keys > 0) data_.reserve(std::min(expected_keys, kMaxReserve));
}

void StateMachine::restore(std::string_view key, std::string_view value) {
  put(key, value);
}

void StateMachine::put(std::string_view key, std::string_view value) {
  // find() first: a key that exists is not copied just to be looked up.
  const auto it = data_.find(key);
  if (it == data_.end()) {
    data_.emplace(std::string(key), std::string(value));
    payload_bytes_ += key.size() + value.size();
    return;
  }
  payload_bytes_ -= it->second.size();
  it->second.assign(value);
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
