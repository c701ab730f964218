// GET /status, GET /members and GET /metrics: what a member can say about
// itself without a consensus round.
#include <cstdio>

#include "daemon/http_api.h"
#include "http/json.h"

namespace raftkv::daemon {
namespace {

std::string members_json(const DaemonConfig& config) {
  std::string out = "[";
  for (const auto& member : config.members) {
    if (out.size() > 1) out += ", ";
    out += "{\"id\": " + std::to_string(member.id) + ", \"raft\": \"" +
           http::json_escape(member.raft.to_string()) + "\", \"http\": \"" +
           http::json_escape(util::default_http_address(member).to_string()) +
           "\", \"voter\": true}";
  }
  return out + "]";
}

std::string id_or_null(core::NodeId id) {
  return id == core::kNoNode ? std::string("null") : std::to_string(id);
}

void gauge(std::string& out, const char* name, const char* help, double value,
           const std::string& labels = "") {
  char line[512];
  std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s gauge\n%s%s %.17g\n", name, help, name,
                name, labels.c_str(), value);
  out += line;
}

void counter(std::string& out, const char* name, const char* help, double value) {
  char line[512];
  std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n%s %.17g\n", name, help, name,
                name, value);
  out += line;
}

}  // namespace

void HttpApi::status(Call call) {
  const core::Status s = node_->status();
  std::string body =
      "{\"id\": " + std::to_string(s.id) + ", \"role\": \"" + std::string(core::role_name(s.role)) +
      "\", \"term\": " + std::to_string(s.term) + ", \"leader\": " + id_or_null(s.leader) +
      ", \"commit_index\": " + std::to_string(s.commit_index) +
      ", \"applied_index\": " + std::to_string(s.applied_index) +
      ", \"last_log_index\": " + std::to_string(s.last_log_index) +
      ", \"persisted_index\": " + std::to_string(s.persisted_index) +
      ", \"members\": " + members_json(node_->config()) +
      ", \"keys\": " + std::to_string(node_->state_machine().key_count()) + ", \"disk_error\": ";
  const std::string& fatal = node_->fatal_error();
  body += fatal.empty() ? std::string("null") : "\"" + http::json_escape(fatal) + "\"";
  body += ", \"version\": \"" RAFTKV_VERSION "\"}";
  http::Response response;
  response.body = std::move(body);
  reply(call, std::move(response));
}

void HttpApi::members(Call call) {
  http::Response response;
  response.body = members_json(node_->config());
  reply(call, std::move(response));
}

std::string HttpApi::metrics_text() const {
  const core::Status s = node_->status();
  const NodeMetrics& n = node_->metrics();
  std::string out;
  for (const core::Role role : {core::Role::kFollower, core::Role::kPreCandidate,
                                core::Role::kCandidate, core::Role::kLeader}) {
    gauge(out, "raftkv_role", "1 for the member's current Raft role", s.role == role ? 1 : 0,
          "{role=\"" + std::string(core::role_name(role)) + "\"}");
  }
  gauge(out, "raftkv_term", "current Raft term", static_cast<double>(s.term));
  gauge(out, "raftkv_leader_id", "id of the known leader, -1 if none",
        s.leader == core::kNoNode ? -1.0 : static_cast<double>(s.leader));
  gauge(out, "raftkv_commit_index", "highest log index known committed",
        static_cast<double>(s.commit_index));
  gauge(out, "raftkv_applied_index", "highest log index applied",
        static_cast<double>(s.applied_index));
  gauge(out, "raftkv_last_log_index", "last log index", static_cast<double>(s.last_log_index));
  gauge(out, "raftkv_keys", "keys in the state machine",
        static_cast<double>(node_->state_machine().key_count()));
  counter(out, "raftkv_proposals_total", "commands proposed by this member",
          static_cast<double>(n.proposals));
  counter(out, "raftkv_proposals_refused_total", "proposals refused (no leader, back pressure)",
          static_cast<double>(n.proposals_refused));
  counter(out, "raftkv_entries_applied_total", "log entries applied",
          static_cast<double>(n.entries_applied));
  counter(out, "raftkv_reads_confirmed_total", "linearizable reads confirmed by ReadIndex",
          static_cast<double>(n.reads_confirmed));
  counter(out, "raftkv_requests_timed_out_total", "requests answered 504",
          static_cast<double>(n.requests_timed_out));
  counter(out, "raftkv_leader_changes_total", "times the known leader changed",
          static_cast<double>(n.leader_changes));
  append_storage_metrics(out);
  append_transport_metrics(out);
  out +=
      "# HELP raftkv_http_responses_total HTTP responses by endpoint and status code\n"
      "# TYPE raftkv_http_responses_total counter\n";
  for (const auto& [key, count] : metrics_.responses) {
    out += "raftkv_http_responses_total{endpoint=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  out +=
      "# HELP raftkv_http_response_seconds_sum total time to answer, by endpoint and code\n"
      "# TYPE raftkv_http_response_seconds_sum counter\n";
  for (const auto& [key, sum] : metrics_.latency_us_sum) {
    char value[64];
    std::snprintf(value, sizeof value, "%.6f", static_cast<double>(sum) / 1e6);
    out += "raftkv_http_response_seconds_sum{endpoint=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + value + "\n";
  }
  return out;
}

}  // namespace raftkv::daemon
