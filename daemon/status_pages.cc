// GET /status and GET /metrics: what a member can say about
// itself without a consensus round.
#include <cstdio>
#include <string_view>
#include <vector>

#include "daemon/http_api.h"
#include "http/json.h"

namespace raftkv::daemon {
namespace {

std::string id_or_null(core::NodeId id) {
  return id == core::kNoNode ? std::string("null") : std::to_string(id);
}

// One unlabelled series: its HELP and TYPE lines and its value.
void scalar(std::string& out, const char* name, const char* type, const char* help, double value) {
  char line[512];
  std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                name, value);
  out += line;
}

// Any number (counts are std::uint64_t): /metrics prints doubles.
template <typename Number>
void gauge(std::string& out, const char* name, const char* help, Number value) {
  scalar(out, name, "gauge", help, static_cast<double>(value));
}

template <typename Number>
void counter(std::string& out, const char* name, const char* help, Number value) {
  scalar(out, name, "counter", help, static_cast<double>(value));
}

void labeled_counter(std::string& out, const char* name, const std::string& labels, double value) {
  char line[512];
  std::snprintf(line, sizeof line, "%s{%s} %.17g\n", name, labels.c_str(), value);
  out += line;
}

// One sample of a labelled family: `label` is the whole `key="value"` part.
struct Sample {
  std::string label;
  double value;
};

// A labelled family: its HELP and TYPE lines, then one line per sample.
void family(std::string& out, const char* name, const char* type, const char* help,
            const std::vector<Sample>& samples) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const Sample& sample : samples) labeled_counter(out, name, sample.label, sample.value);
}

std::string label(const char* key, std::string_view value) {
  return std::string(key) + "=\"" + std::string(value) + "\"";
}

}  // namespace

void HttpApi::append_storage_metrics(std::string& out) const {
  const storage::WalMetrics& wal = node_->wal().metrics();
  counter(out, "raftkv_wal_fsyncs_total", "fdatasyncs of log segments and the hard state",
          wal.fsyncs);
  counter(out, "raftkv_wal_batches_total", "group commits (one write + fdatasync each)",
          wal.batches);
  counter(out, "raftkv_wal_entries_written_total", "log entries made durable", wal.entries_written);
  gauge(out, "raftkv_wal_entries_per_fsync", "mean entries made durable per group commit",
        wal.batches == 0
            ? 0.0
            : static_cast<double>(wal.entries_written) / static_cast<double>(wal.batches));
  gauge(out, "raftkv_wal_max_entries_per_fsync", "largest group commit, in entries",
        wal.max_entries_per_fsync);
  counter(out, "raftkv_wal_bytes_written_total", "bytes written to the log", wal.bytes_written);
  counter(out, "raftkv_wal_failed_writes_total", "log writes that failed", wal.failed_writes);
  append_disk_metrics(out);
  out +=
      "# HELP raftkv_wal_fsync_seconds fdatasync latency\n"
      "# TYPE raftkv_wal_fsync_seconds histogram\n";
  const auto& histogram = wal.fsync_latency;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < storage::LatencyHistogram::kBoundsUs.size(); ++i) {
    cumulative += histogram.counts()[i];
    char le[32];
    std::snprintf(le, sizeof le, "le=\"%g\"",
                  static_cast<double>(storage::LatencyHistogram::kBoundsUs[i]) / 1e6);
    labeled_counter(out, "raftkv_wal_fsync_seconds_bucket", le, static_cast<double>(cumulative));
  }
  labeled_counter(out, "raftkv_wal_fsync_seconds_bucket", "le=\"+Inf\"",
                  static_cast<double>(histogram.count()));
  char sum[96];
  std::snprintf(sum, sizeof sum, "raftkv_wal_fsync_seconds_sum %.9f\n",
                static_cast<double>(histogram.sum_ns()) / 1e9);
  out += sum;
  out += "raftkv_wal_fsync_seconds_count " + std::to_string(histogram.count()) + "\n";
}

// disk_watchdog.h: full and stuck disks.
void HttpApi::append_disk_metrics(std::string& out) const {
  const storage::DiskFullMetrics& full = node_->wal().disk_full_metrics();
  const DiskWatchdog& watchdog = node_->disk_watchdog();
  const DiskWatchdogMetrics& m = watchdog.metrics();
  gauge(out, "raftkv_disk_full", "1 while the log waits for disk space",
        node_->wal().disk_full() ? 1.0 : 0.0);
  gauge(out, "raftkv_disk_stuck", "1 while a log write is in flight past the election timeout",
        watchdog.state() == DiskState::kStuck ? 1.0 : 0.0);
  counter(out, "raftkv_disk_full_episodes_total", "times the log ran out of disk space",
          full.episodes);
  counter(out, "raftkv_disk_full_retries_total", "log writes retried after running out of space",
          full.retries);
  counter(out, "raftkv_disk_stuck_episodes_total", "times a log write stayed in flight too long",
          m.stuck_episodes);
  counter(out, "raftkv_disk_handoffs_total", "leadership hand-offs because of the disk",
          m.handoffs);
  counter(out, "raftkv_disk_refused_writes_total", "client writes refused (503) for the disk",
          m.refused_writes);
}

void HttpApi::append_membership_metrics(std::string& out) const {
  const pb::ClusterConfig& config = node_->membership();
  const MembershipMetrics& m = node_->membership_metrics();
  gauge(out, "raftkv_members", "members of the configuration in force", config.members_size());
  gauge(out, "raftkv_voters", "voters of the configuration in force", voter_count(config));
  gauge(out, "raftkv_learners", "learners (non-voters catching up) of the configuration in force",
        learner_count(config));
  std::vector<Sample> standings;
  for (const Standing standing : {Standing::kMember, Standing::kJoining, Standing::kRemoved}) {
    standings.push_back(
        {label("standing", standing_name(standing)), node_->standing() == standing ? 1.0 : 0.0});
  }
  family(out, "raftkv_standing", "gauge",
         "1 for this member's standing: member, joining (not added yet) or removed", standings);
  counter(out, "raftkv_config_changes_applied_total", "configuration entries applied",
          m.changes_applied);
  counter(out, "raftkv_config_changes_proposed_total", "membership changes this member proposed",
          m.changes_proposed);
  counter(out, "raftkv_config_changes_refused_total",
          "membership changes refused for good (409: unsafe or in conflict)", m.changes_refused);
}

void HttpApi::append_transport_metrics(std::string& out) const {
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t transport::PeerMetrics::*field;
  };
  static constexpr Series kSeries[] = {
      {"raftkv_peer_sent_messages_total", "counter", "messages written to the peer",
       &transport::PeerMetrics::sent_messages},
      {"raftkv_peer_sent_bytes_total", "counter", "bytes written to the peer",
       &transport::PeerMetrics::sent_bytes},
      {"raftkv_peer_dropped_messages_total", "counter",
       "messages dropped (queue full or connection lost)",
       &transport::PeerMetrics::dropped_messages},
      {"raftkv_peer_queued_bytes", "gauge", "bytes waiting to be written to the peer",
       &transport::PeerMetrics::queued_bytes},
      {"raftkv_peer_reconnects_total", "counter", "connection attempts after a failure",
       &transport::PeerMetrics::reconnects},
      {"raftkv_peer_received_messages_total", "counter", "messages received from the peer",
       &transport::PeerMetrics::received_messages},
  };
  // The transport's peers follow the configuration in force.
  const std::vector<core::NodeId> peers = node_->transport().peer_ids();
  std::vector<Sample> connected;
  for (const core::NodeId peer : peers) {
    connected.push_back({label("peer", std::to_string(peer)),
                         node_->transport().peer_metrics(peer).connected ? 1.0 : 0.0});
  }
  family(out, "raftkv_peer_connected", "gauge", "1 if the outbound connection to the peer is up",
         connected);
  for (const Series& series : kSeries) {
    std::vector<Sample> samples;
    for (const core::NodeId peer : peers) {
      const transport::PeerMetrics metrics = node_->transport().peer_metrics(peer);
      samples.push_back(
          {label("peer", std::to_string(peer)), static_cast<double>(metrics.*series.field)});
    }
    family(out, series.name, series.type, series.help, samples);
  }
  const transport::PeerRejectionCounts& rejected = node_->transport().rejections();
  std::vector<Sample> reasons;
  for (std::size_t i = 0; i < transport::kPeerRejectionCount; ++i) {
    const auto reason = static_cast<transport::PeerRejection>(i);
    reasons.push_back({label("reason", transport::peer_rejection_name(reason)),
                       static_cast<double>(rejected[reason])});
  }
  family(out, "raftkv_peer_rejected_total", "counter",
         "inbound peer connections closed for bad input, by reason", reasons);
}

void HttpApi::append_snapshot_metrics(std::string& out) const {
  const core::Status s = node_->status();
  const SnapshotTakerMetrics& taker = node_->snapshot_taker().metrics();
  const SnapshotMetrics& node = node_->snapshot_metrics();
  const transport::SnapshotReceiverStats& received = node_->snapshot_receiver().stats();
  gauge(out, "raftkv_snapshot_index", "last log index covered by the newest snapshot",
        s.snapshot_index);
  gauge(out, "raftkv_first_log_index", "first index still in the log", s.first_log_index);
  counter(out, "raftkv_snapshots_taken_total", "snapshots of this member's state written",
          taker.taken);
  counter(out, "raftkv_snapshots_failed_total", "snapshots that could not be written",
          taker.failed);
  gauge(out, "raftkv_snapshot_running", "1 while a snapshot is being written",
        taker.running ? 1 : 0);
  gauge(out, "raftkv_snapshot_last_duration_seconds", "time to write the last snapshot",
        static_cast<double>(taker.last_duration_ms) / 1e3);
  gauge(out, "raftkv_snapshot_last_bytes", "size of the last snapshot file", taker.last_bytes);
  gauge(out, "raftkv_snapshot_last_fork_seconds", "loop stall of the last snapshot's fork()",
        static_cast<double>(taker.last_fork_us) / 1e6);
  counter(out, "raftkv_log_compactions_total", "log compactions after a snapshot",
          node.compactions);
  counter(out, "raftkv_snapshot_installs_total", "snapshots received from a leader and installed",
          node.installs);
  gauge(out, "raftkv_snapshot_last_install_seconds",
        "time to load the last installed snapshot into the state machine",
        static_cast<double>(node.last_install_ms) / 1e3);
  gauge(out, "raftkv_snapshot_sends_in_progress", "snapshot transfers to followers running",
        node_->snapshot_sends_in_progress());
  family(out, "raftkv_snapshot_sends_total", "counter",
         "snapshot transfers to followers, by outcome",
         {{label("result", "ok"), static_cast<double>(node.sends_succeeded)},
          {label("result", "failed"), static_cast<double>(node.sends_failed)},
          {label("result", "cancelled"), static_cast<double>(node.sends_cancelled)}});
  counter(out, "raftkv_snapshot_sent_bytes_total",
          "snapshot chunk bytes sent by finished transfers (resends included)", node.sent_bytes);
  gauge(out, "raftkv_snapshot_receives_in_progress", "1 while a snapshot is being received",
        received.in_progress ? 1 : 0);
  family(out, "raftkv_snapshot_receives_total", "counter",
         "snapshot transfers from a leader, by outcome",
         {{label("result", "completed"), static_cast<double>(received.completed)},
          {label("result", "failed"), static_cast<double>(received.failed)},
          {label("result", "abandoned"), static_cast<double>(received.abandoned)}});
  counter(out, "raftkv_snapshot_received_bytes_total", "snapshot bytes written while receiving",
          received.bytes_written);
}

// The client port: the server's connection counters and every refusal of a
// client's input, the server's and the API's in one family.
void HttpApi::append_http_metrics(std::string& out) const {
  const http::ServerMetrics none;
  const http::ServerMetrics& server = server_metrics_ != nullptr ? *server_metrics_ : none;
  gauge(out, "raftkv_http_connections_open", "client connections open", server.connections_open);
  counter(out, "raftkv_http_connections_accepted_total",
          "client connections accepted (refused ones excluded)", server.connections_accepted);
  std::vector<Sample> reasons;
  for (std::size_t i = 0; i < http::kRejectionCount; ++i) {
    const auto reason = static_cast<http::Rejection>(i);
    reasons.push_back({label("reason", http::rejection_name(reason)),
                       static_cast<double>(server.rejected[reason] + metrics_.rejected[reason])});
  }
  family(out, "raftkv_http_rejected_total", "counter",
         "client requests and connections refused for bad input, overload or timeouts, by reason",
         reasons);
}

void HttpApi::status(Call call) {
  const core::Status s = node_->status();
  std::string body =
      "{\"id\": " + std::to_string(s.id) + ", \"role\": \"" + std::string(core::role_name(s.role)) +
      "\", \"term\": " + std::to_string(s.term) + ", \"leader\": " + id_or_null(s.leader) +
      ", \"commit_index\": " + std::to_string(s.commit_index) +
      ", \"applied_index\": " + std::to_string(s.applied_index) +
      ", \"last_log_index\": " + std::to_string(s.last_log_index) +
      ", \"persisted_index\": " + std::to_string(s.persisted_index) +
      ", \"snapshot_index\": " + std::to_string(s.snapshot_index) +
      ", \"snapshot_term\": " + std::to_string(s.snapshot_term) +
      ", \"first_log_index\": " + std::to_string(s.first_log_index) +
      ", \"members\": " + members_json(node_->membership()) + ", \"standing\": \"" +
      standing_name(node_->standing()) + "\"" +
      ", \"keys\": " + std::to_string(node_->state_machine().key_count()) + ", \"disk_error\": ";
  const std::string& fatal = node_->fatal_error();
  body += fatal.empty() ? std::string("null") : "\"" + http::json_escape(fatal) + "\"";
  body += std::string(", \"disk\": \"") + disk_state_name(node_->disk_watchdog().state()) + "\"";
  body += ", \"version\": \"" RAFTKV_VERSION "\"}";
  http::Response response;
  response.body = std::move(body);
  reply(call, std::move(response));
}

std::string HttpApi::metrics_text() const {
  const core::Status s = node_->status();
  const NodeMetrics& n = node_->metrics();
  std::string out;
  std::vector<Sample> roles;
  for (const core::Role role : {core::Role::kFollower, core::Role::kPreCandidate,
                                core::Role::kCandidate, core::Role::kLeader}) {
    roles.push_back({label("role", core::role_name(role)), s.role == role ? 1.0 : 0.0});
  }
  family(out, "raftkv_role", "gauge", "1 for the member's current Raft role", roles);
  gauge(out, "raftkv_term", "current Raft term", s.term);
  gauge(out, "raftkv_leader_id", "id of the known leader, -1 if none",
        s.leader == core::kNoNode ? -1.0 : s.leader);
  gauge(out, "raftkv_commit_index", "highest log index known committed", s.commit_index);
  gauge(out, "raftkv_applied_index", "highest log index applied", s.applied_index);
  gauge(out, "raftkv_last_log_index", "last log index", s.last_log_index);
  gauge(out, "raftkv_keys", "keys in the state machine", node_->state_machine().key_count());
  counter(out, "raftkv_proposals_total", "commands proposed by this member", n.proposals);
  counter(out, "raftkv_proposals_refused_total", "proposals refused (no leader, back pressure)",
          n.proposals_refused);
  counter(out, "raftkv_entries_applied_total", "log entries applied", n.entries_applied);
  counter(out, "raftkv_reads_confirmed_total", "linearizable reads confirmed by ReadIndex",
          n.reads_confirmed);
  counter(out, "raftkv_requests_timed_out_total", "requests answered 504", n.requests_timed_out);
  counter(out, "raftkv_leader_changes_total", "times the known leader changed", n.leader_changes);
  append_storage_metrics(out);
  append_transport_metrics(out);
  append_membership_metrics(out);
  append_snapshot_metrics(out);
  append_http_metrics(out);
  out +=
      "# HELP raftkv_http_responses_total HTTP responses by endpoint and status code\n"
      "# TYPE raftkv_http_responses_total counter\n";
  metrics_.for_each([&](std::string_view endpoint, int code, std::uint64_t count, std::uint64_t) {
    out.append("raftkv_http_responses_total{endpoint=\"").append(endpoint);
    out += "\",code=\"" + std::to_string(code) + "\"} " + std::to_string(count) + "\n";
  });
  out +=
      "# HELP raftkv_http_response_seconds_sum total time to answer, by endpoint and code\n"
      "# TYPE raftkv_http_response_seconds_sum counter\n";
  metrics_.for_each([&](std::string_view endpoint, int code, std::uint64_t, std::uint64_t sum) {
    char value[64];
    std::snprintf(value, sizeof value, "%.6f", static_cast<double>(sum) / 1e6);
    out.append("raftkv_http_response_seconds_sum{endpoint=\"").append(endpoint);
    out += "\",code=\"" + std::to_string(code) + "\"} " + value + "\n";
  });
  return out;
}

}  // namespace raftkv::daemon
