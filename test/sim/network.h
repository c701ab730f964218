// The simulated network between members.
//
// Each sent message is parked in a slot and a delivery event is scheduled
// after a random delay, so independent delays reorder messages. With the
// current profile's probabilities a message is dropped, or duplicated (the
// copy gets its own delay). Partitions are a matrix of one-way cuts,
// consulted at delivery time: a message in flight when a cut appears is lost,
// as on a real link.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "event_queue.h"
#include "raft.pb.h"
#include "rng.h"

namespace raftkv::sim {

struct NetworkProfile {
  double drop = 0;
  double duplicate = 0;
  Time min_delay = 100;  // microseconds
  Time max_delay = 2000;
  double slow = 0;  // chance of a long delay (a stalled connection)
  Time slow_delay = 30 * kMillisecond;
};

class Network {
 public:
  Network(std::size_t members, Rng& rng, EventQueue& queue);

  void set_profile(const NetworkProfile& profile) { profile_ = profile; }
  const NetworkProfile& profile() const { return profile_; }

  // Sends a message (scheduling zero, one or two deliveries).
  void send(const pb::Message& message);

  // Takes the message parked in `slot`; empty if the link is cut now.
  std::optional<pb::Message> take(std::uint64_t slot);

  void cut(std::size_t from, std::size_t to) { blocked_[from * members_ + to] = true; }
  bool is_cut(std::size_t from, std::size_t to) const { return blocked_[from * members_ + to]; }
  void heal();
  // Cuts every link between `group` (a bit set of members) and the rest.
  void split(std::uint64_t group);

  std::uint64_t sent() const { return sent_; }

 private:
  void schedule(const pb::Message& message);

  std::size_t members_;
  Rng& rng_;
  EventQueue& queue_;
  NetworkProfile profile_;
  std::vector<bool> blocked_;
  std::vector<pb::Message> slots_;
  std::vector<std::uint64_t> free_;
  std::uint64_t sent_ = 0;
};

// A one-line description of a message, for the verbose trace.
std::string describe(const pb::Message& message);

}  // namespace raftkv::sim
