#include "daemon/leader_transfers.h"

#include <utility>

namespace raftkv::daemon {

void LeaderTransfers::add(core::NodeId self, core::NodeId target, core::Term term,
                          std::uint64_t abandon_at_ms, std::uint64_t deadline_ms,
                          TransferCallback done) {
  waiting_.push_back({self, target, term, abandon_at_ms, deadline_ms, std::move(done)});
}

void LeaderTransfers::on_soft_state(const core::SoftState& soft) {
  resolve([&soft](const Waiter& waiter, TransferOutcome* outcome) {
    if (soft.leader == core::kNoNode) return false;  // an election is running
    if (soft.leader == waiter.target) {
      *outcome = {TransferStatus::kLeads, soft.leader, soft.term, ""};
      return true;
    }
    // Our own leadership of the starting term is the transfer still running.
    if (soft.leader == waiter.self && soft.term == waiter.term) return false;
    *outcome = {TransferStatus::kFailed, soft.leader, soft.term,
                "leadership transfer failed: another member won the election"};
    return true;
  });
}

void LeaderTransfers::on_timeout_now_sent(core::NodeId target) {
  for (Waiter& waiter : waiting_) {
    if (waiter.target == target) waiter.timeout_now_sent = true;
  }
}

void LeaderTransfers::on_tick(std::uint64_t now_ms, const core::SoftState& soft) {
  resolve([&](const Waiter& waiter, TransferOutcome* outcome) {
    const bool unchanged = soft.role == core::Role::kLeader && soft.term == waiter.term;
    if (now_ms >= waiter.abandon_at_ms && unchanged && !waiter.timeout_now_sent) {
      // The core gave up before telling the target to campaign: nothing
      // changed, this member still leads.
      *outcome = {TransferStatus::kFailed, waiter.self, soft.term,
                  "leadership transfer abandoned: the target did not catch up within an "
                  "election timeout; this member still leads"};
      return true;
    }
    if (now_ms >= waiter.deadline_ms) {
      *outcome = {TransferStatus::kTimeout, soft.leader, soft.term,
                  "leadership transfer timed out; the outcome is unknown"};
      return true;
    }
    return false;
  });
}

void LeaderTransfers::fail_all(const TransferOutcome& outcome) {
  resolve([&outcome](const Waiter&, TransferOutcome* out) {
    *out = outcome;
    return true;
  });
}

void LeaderTransfers::resolve(const std::function<bool(const Waiter&, TransferOutcome*)>& decide) {
  std::vector<std::pair<TransferCallback, TransferOutcome>> answers;
  std::vector<Waiter> still_waiting;
  for (Waiter& waiter : waiting_) {
    TransferOutcome outcome;
    if (decide(waiter, &outcome)) {
      answers.emplace_back(std::move(waiter.done), outcome);
    } else {
      still_waiting.push_back(std::move(waiter));
    }
  }
  waiting_ = std::move(still_waiting);
  for (auto& [done, outcome] : answers) done(outcome);
}

}  // namespace raftkv::daemon
