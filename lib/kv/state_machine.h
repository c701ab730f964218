// The replicated key-value state machine: applies committed commands in log
// order. It knows nothing of Raft or HTTP; every member that applies the
// same commands in the same order holds the same map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kv.pb.h"

namespace raftkv::kv {

enum class ApplyOutcome {
  kOk,                  // the command took effect
  kNotFound,            // delete of an absent key (no effect)
  kPreconditionFailed,  // CAS value mismatch or absent, create of an existing key (no effect)
};

class StateMachine {
 public:
  ApplyOutcome apply(const pb::KvCommand& command);

  // The current value, or nullptr when absent. Valid until the next apply.
  const std::string* get(std::string_view key) const;

  std::size_t key_count() const { return data_.size(); }
  // Bytes of keys and values held (not counting container overhead).
  std::size_t payload_bytes() const { return payload_bytes_; }

  // Snapshots. for_each() visits every pair once, in no particular order;
  // `visit` must not modify the state machine. The snapshot taker calls it
  // in a forked child, so it allocates nothing and takes no locks.
  using PairVisitor = std::function<void(std::string_view key, std::string_view value)>;
  void for_each(const PairVisitor& visit) const;

  // Replacing the whole state from a snapshot: clear(), then restore() every
  // pair of the file. clear() releases the map's memory (a snapshot install
  // must not hold the old and the new state at once); `expected_keys`
  // pre-sizes the table to avoid rehashing during a large load (a hint only).
  // restore() of a key already present replaces it, as a put would.
  void clear(std::size_t expected_keys = 0);
  void restore(std::string_view key, std::string_view value);

 private:
  // Transparent hashing lets get() look up a string_view without a copy.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void put(std::string_view key, std::string_view value);
  ApplyOutcome erase(const std::string& key);

  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> data_;
  std::size_t payload_bytes_ = 0;
};

}  // namespace raftkv::kv
