// Small helpers shared by the core's unit tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

namespace raftkv::core::test {

inline std::vector<pb::Message> take_to(Cluster& c, NodeId to,
                                        pb::Message::BodyCase body = pb::Message::BODY_NOT_SET) {
  std::vector<pb::Message> out;
  for (const auto& m : c.queue()) {
    if (m.to() == to && (body == pb::Message::BODY_NOT_SET || m.body_case() == body)) {
      out.push_back(m);
    }
  }
  return out;
}

inline int count_appends_with_entries(Cluster& c, NodeId to) {
  int n = 0;
  for (const auto& m : c.queue()) {
    if (m.to() == to && m.has_append_entries() && m.append_entries().entries_size() > 0) ++n;
  }
  return n;
}

inline std::vector<Term> terms_of(const std::vector<pb::Entry>& entries) {
  std::vector<Term> out;
  for (const auto& e : entries) out.push_back(e.term());
  return out;
}

inline pb::Message vote_request(NodeId from, NodeId to, Term term, Index last_index, Term last_term,
                                bool pre = false) {
  pb::Message m;
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  auto* rv = m.mutable_request_vote();
  rv->set_last_log_index(last_index);
  rv->set_last_log_term(last_term);
  rv->set_pre_vote(pre);
  return m;
}

// An AppendEntries from `from` to `to` in `term`, after (prev, prev_term).
inline pb::Message append_request(NodeId from, NodeId to, Term term, Index prev, Term prev_term,
                                  const std::vector<pb::Entry>& entries, Index commit = 0) {
  pb::Message m;
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  auto* ae = m.mutable_append_entries();
  ae->set_prev_log_index(prev);
  ae->set_prev_log_term(prev_term);
  for (const auto& e : entries) *ae->add_entries() = e;
  ae->set_leader_commit(commit);
  return m;
}

// The vote answer in a Ready, if any (in either message list).
inline const pb::Message* find_vote_response(const Ready& r, bool* after_persist = nullptr) {
  for (const auto& out : r.messages) {
    if (out.message.has_request_vote_response()) {
      if (after_persist) *after_persist = false;
      return &out.message;
    }
  }
  for (const auto& m : r.messages_after_persist) {
    if (m.has_request_vote_response()) {
      if (after_persist) *after_persist = true;
      return &m;
    }
  }
  return nullptr;
}

// Election Safety after a step of a randomized run: at most one leader per
// term, remembered across steps in `leaders`.
inline void require_one_leader_per_term(Cluster& c, const std::vector<NodeId>& ids,
                                        std::map<Term, NodeId>& leaders, std::uint64_t seed) {
  for (NodeId id : ids) {
    if (c.core(id).role() != Role::kLeader) continue;
    auto [it, inserted] = leaders.emplace(c.core(id).term(), id);
    INFO("seed " << seed << " term " << c.core(id).term());
    REQUIRE(it->second == id);
  }
}

// The longest applied sequence among the members: the one the others'
// must be prefixes of (State Machine Safety).
inline std::vector<pb::Entry> longest_applied(Cluster& c, const std::vector<NodeId>& ids) {
  std::vector<pb::Entry> longest;
  for (NodeId id : ids) {
    if (c.member(id).applied.size() > longest.size()) longest = c.member(id).applied;
  }
  return longest;
}

}  // namespace raftkv::core::test
