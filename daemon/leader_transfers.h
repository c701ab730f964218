// Leadership transfers waiting for their outcome (POST /leader?to=ID).
//
// The core starts a transfer (Core::transfer_leadership) but never reports
// how it ended: it either sees the target win an election, or silently
// abandons the transfer after an election timeout. This class turns what
// the driver observes into one answer per request:
//
//   kLeads    the target became leader (a soft state naming it as leader);
//   kFailed   a definite failure: another member won the election, or the
//             core's abandon point (election timeout plus a margin) passed
//             with this member still leading the starting term and no
//             TimeoutNow ever sent to the target, so nothing changed and
//             nothing will;
//   kTimeout  the request deadline passed with neither: the outcome is
//             unknown (this member stepped down and has not heard of a new
//             leader yet, or the target was told to campaign -- TimeoutNow
//             -- and may still do so: a TimeoutNow stuck in a socket buffer
//             of a paused target makes it campaign when it resumes).
//
// Pure bookkeeping: no clock of its own, the driver passes the time in.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/core.h"

namespace raftkv::daemon {

enum class TransferStatus {
  kLeads,      // the target leads
  kNotLeader,  // refused at once: this member does not lead (HTTP 503)
  kNotVoter,   // refused at once: the target is not a voter (HTTP 409)
  kFailed,     // started but failed; nothing changed or another member leads (503)
  kTimeout,    // started, outcome unknown at the deadline (504)
};

struct TransferOutcome {
  TransferStatus status = TransferStatus::kFailed;
  core::NodeId leader = core::kNoNode;  // the leader known when answering
  core::Term term = 0;                  // its term (kLeads)
  const char* reason = "";              // for failures, a short static message
};

using TransferCallback = std::function<void(const TransferOutcome&)>;

class LeaderTransfers {
 public:
  // A transfer to `target` was started by `self`, leader of `term`, at
  // `now_ms`. Without news it is declared abandoned at `abandon_at_ms` (if
  // `self` still leads `term`) and timed out at `deadline_ms`.
  void add(core::NodeId self, core::NodeId target, core::Term term, std::uint64_t abandon_at_ms,
           std::uint64_t deadline_ms, TransferCallback done);

  // The role, term or leader changed.
  void on_soft_state(const core::SoftState& soft);

  // A TimeoutNow went out to `target`: its transfers may now complete at
  // any time, so they are no longer declared failed at the abandon point.
  void on_timeout_now_sent(core::NodeId target);

  // Periodic check (every tick): abandoned transfers and deadlines.
  void on_tick(std::uint64_t now_ms, const core::SoftState& soft);

  // Answers every waiting request with `outcome` (shutdown).
  void fail_all(const TransferOutcome& outcome);

  std::size_t size() const { return waiting_.size(); }

 private:
  struct Waiter {
    core::NodeId self;
    core::NodeId target;
    core::Term term;
    std::uint64_t abandon_at_ms;
    std::uint64_t deadline_ms;
    TransferCallback done;
    bool timeout_now_sent = false;
  };

  // Removes every waiter for which `decide` returns an outcome and answers
  // it (after the removal: a callback may add a new transfer).
  void resolve(const std::function<bool(const Waiter&, TransferOutcome*)>& decide);

  std::vector<Waiter> waiting_;
};

}  // namespace raftkv::daemon
