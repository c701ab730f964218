// The client HTTP API of ../shared/interface.md, on top of a RaftNode:
// routing, parameter validation, and the mapping from request outcomes to
// status codes and JSON error bodies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/api_metrics.h"
#include "daemon/query_params.h"
#include "daemon/raft_node.h"
#include "http/server.h"

namespace raftkv::daemon {

class HttpApi {
 public:
  HttpApi(uv_loop_t* loop, RaftNode* node);

  // The http::Server handler.
  void handle(http::Request&& request, http::Responder responder);
  const ApiMetrics& metrics() const { return metrics_; }
  // The server whose counters /metrics shows next to the API's own.
  void show_server_metrics(const http::ServerMetrics* server) { server_metrics_ = server; }
  // Body of GET /metrics (also used by tests).
  std::string metrics_text() const;

 private:
  using Params = std::vector<std::pair<std::string, std::string>>;
  // One request in flight, with its endpoint and start time for metrics.
  struct Call {
    http::Responder responder;
    Endpoint endpoint = Endpoint::kOther;
    std::uint64_t start_us = 0;
  };

  // Non-const: a PUT's body is moved into the command, not copied.
  // `params` receives the parsed query.
  void route(Call call, http::Request& request, Params& params);
  void kv_request(Call call, http::Request& request, std::string key, const Params& params);
  void put(Call call, std::string key, std::string value, const Params& params);
  void get(Call call, std::string key, bool stale);
  void remove(Call call, std::string key);
  void goraft_set(Call call, const Params& params);
  void goraft_get(Call call, const Params& params);
  void status(Call call);
  // members_api.cc
  void members_request(Call call, const http::Request& request, const Params& params);
  void list_members(Call call, const Params& params);
  void add_member(Call call, const Params& params);
  void remove_member(Call call, const std::string& path, const Params& params);
  void finish_change(Call call, const ChangeOutcome& outcome);
  void transfer_leadership(Call call, const Params& params);
  void finish_transfer(Call call, const TransferOutcome& outcome);
  void snapshot(Call call, const Params& params);
  void answer_value(Call call, const std::string& key);
  void append_storage_metrics(std::string& out) const;
  void append_transport_metrics(std::string& out) const;
  void append_membership_metrics(std::string& out) const;
  void append_disk_metrics(std::string& out) const;
  void append_snapshot_metrics(std::string& out) const;
  void append_http_metrics(std::string& out) const;

  // Requests waiting on Raft are parked in a slot and the callback given to
  // RaftNode captures only (this, slot): small and trivially copyable, so
  // std::function stores it in place, where capturing the Call and the key
  // allocated a closure per request. RaftNode calls every callback exactly
  // once (answer, failure, timeout or shutdown), which frees the slot.
  struct Parked {
    Call call;
    std::string key;  // a linearizable read's key; its buffer is reused
  };
  std::uint32_t park(Call call, std::string_view key);
  // Moves the call out; parked_[slot].key stays valid until release().
  Call unpark(std::uint32_t slot);
  void release(std::uint32_t slot);
  void finish_read(std::uint32_t slot, const RequestResult& result);

  bool check_key(Call& call, const std::string& key);
  bool check_value(Call& call, const std::string& value);
  pb::KvCommand& reused_command();
  void finish_write(std::uint32_t slot, const RequestResult& result);
  void reply(Call& call, http::Response response);
  void reply_error(Call& call, int status, std::string_view message);
  // A refusal of the client's input: counted by reason, then answered.
  void reply_rejected(Call& call, http::Rejection reason, int status, std::string_view message);
  void reply_rejected(Call& call, const ParamProblem& problem);
  void reply_method_not_allowed(Call& call, const char* allowed);
  // {"error": message[, "leader": id]} with `status`.
  http::Response error_body(int status, std::string_view message) const;
  void reply_for(Call& call, const RequestResult& result);

  uv_loop_t* loop_;
  RaftNode* node_;
  ApiMetrics metrics_;
  pb::KvCommand command_;  // see reused_command()
  std::vector<Parked> parked_;
  // The last request's query parameters, their buffers reused by the next
  // (handle() takes them out while it runs, so a nested call cannot share).
  Params spare_params_;
  std::vector<std::uint32_t> free_slots_;
  const http::ServerMetrics* server_metrics_ = nullptr;
};

}  // namespace raftkv::daemon
