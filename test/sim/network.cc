#include "network.h"

#include <sstream>

namespace raftkv::sim {

Network::Network(std::size_t members, Rng& rng, EventQueue& queue)
    : members_(members), rng_(rng), queue_(queue), blocked_(members * members, false) {}

void Network::send(const pb::Message& message) {
  ++sent_;
  if (message.to() >= members_ || message.from() >= members_) return;
  if (rng_.chance(profile_.drop)) return;
  schedule(message);
  if (rng_.chance(profile_.duplicate)) schedule(message);
}

void Network::schedule(const pb::Message& message) {
  Time delay = rng_.between(profile_.min_delay, profile_.max_delay);
  if (rng_.chance(profile_.slow)) delay += rng_.between(0, profile_.slow_delay);
  std::uint64_t slot;
  if (free_.empty()) {
    slot = slots_.size();
    slots_.push_back(message);
  } else {
    slot = free_.back();
    free_.pop_back();
    slots_[slot] = message;
  }
  queue_.after(delay, EventKind::kDeliver, 0, slot);
}

std::optional<pb::Message> Network::take(std::uint64_t slot) {
  free_.push_back(slot);
  pb::Message& m = slots_[slot];
  if (is_cut(m.from(), m.to())) return std::nullopt;
  return std::move(m);
}

void Network::heal() {
  blocked_.assign(blocked_.size(), false);
}

void Network::split(std::uint64_t group) {
  for (std::size_t a = 0; a < members_; ++a) {
    for (std::size_t b = 0; b < members_; ++b) {
      bool a_in = (group >> a) & 1;
      bool b_in = (group >> b) & 1;
      if (a_in != b_in) cut(a, b);
    }
  }
}

namespace {

void describe_body(const pb::Message& m, std::ostringstream& out) {
  if (m.has_request_vote()) {
    const auto& v = m.request_vote();
    out << (v.pre_vote() ? "PreVote" : "RequestVote") << " last=" << v.last_log_index() << "/"
        << v.last_log_term() << (v.leadership_transfer() ? " transfer" : "");
  } else if (m.has_request_vote_response()) {
    const auto& v = m.request_vote_response();
    out << (v.pre_vote() ? "PreVoteResp" : "VoteResp") << (v.granted() ? " granted" : " rejected");
  } else if (m.has_append_entries()) {
    const auto& a = m.append_entries();
    out << "Append prev=" << a.prev_log_index() << "/" << a.prev_log_term()
        << " n=" << a.entries_size() << " commit=" << a.leader_commit()
        << " round=" << a.read_round();
  } else if (m.has_append_entries_response()) {
    const auto& a = m.append_entries_response();
    out << "AppendResp " << (a.success() ? "ok" : "reject") << " match=" << a.match_index()
        << " hint=" << a.reject_hint_index() << "/" << a.reject_hint_term()
        << " round=" << a.read_round();
  } else if (m.has_timeout_now()) {
    out << "TimeoutNow";
  } else if (m.has_read_index_request()) {
    out << "ReadIndexReq n=" << m.read_index_request().request_ids_size();
  } else if (m.has_read_index_response()) {
    const auto& r = m.read_index_response();
    out << "ReadIndexResp index=" << r.read_index() << (r.rejected() ? " rejected" : "");
  } else if (m.has_propose()) {
    out << "Propose n=" << m.propose().entries_size() << " seq=" << m.propose().seq();
  } else if (m.has_install_snapshot()) {
    const auto& meta = m.install_snapshot().meta();
    out << "InstallSnapshot " << meta.index() << "/" << meta.term();
  } else if (m.has_propose_response()) {
    const auto& r = m.propose_response();
    out << "ProposeResp seq=" << r.seq() << " refused=" << r.rejected_size()
        << " reason=" << r.reason();
  } else {
    out << "?";
  }
}

}  // namespace

std::string describe(const pb::Message& message) {
  std::ostringstream out;
  out << "t" << message.term() << " ";
  describe_body(message, out);
  return out.str();
}

}  // namespace raftkv::sim
