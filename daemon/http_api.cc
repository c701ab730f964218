#include "daemon/http_api.h"

#include "daemon/query_params.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "http/json.h"
#include "http/url.h"
#include "kv.pb.h"

namespace raftkv::daemon {

namespace {

std::uint64_t now_us() {
  return uv_hrtime() / 1000;
}

// Parses an optional boolean parameter ("true"/"false"); false if malformed.
bool bool_param(const std::vector<std::pair<std::string, std::string>>& params,
                std::string_view name, bool* out) {
  const std::string* value = find_param(params, name);
  if (value == nullptr) return true;
  if (*value == "true" || *value == "1")
    *out = true;
  else if (*value == "false" || *value == "0")
    *out = false;
  else
    return false;
  return true;
}

int http_status(RequestStatus status) {
  switch (status) {
    case RequestStatus::kOk:
      return 200;
    case RequestStatus::kNotFound:
      return 404;
    case RequestStatus::kPreconditionFailed:
      return 412;
    case RequestStatus::kUnavailable:
      return 503;
    case RequestStatus::kTimeout:
      return 504;
  }
  return 500;
}

}  // namespace

HttpApi::HttpApi(uv_loop_t* loop, RaftNode* node) : loop_(loop), node_(node) {}

void HttpApi::handle(http::Request&& request, http::Responder responder) {
  Call call{std::move(responder), Endpoint::kOther, now_us()};
  Params params = std::move(spare_params_);
  route(std::move(call), request, params);
  spare_params_ = std::move(params);
}

void HttpApi::route(Call call, http::Request& request, Params& params) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (!http::parse_query(request.query, &params)) {
    reply_rejected(call, http::Rejection::kBadPercentEncoding, 400,
                   "invalid percent-encoding in the query string");
    return;
  }
  if (path.rfind("/kv/", 0) == 0) {
    std::string key;
    if (!http::percent_decode(std::string_view(path).substr(4), &key)) {
      reply_rejected(call, http::Rejection::kBadPercentEncoding, 400,
                     "invalid percent-encoding in the key");
      return;
    }
    kv_request(std::move(call), request, std::move(key), params);
    return;
  }
  if (path == "/members" || path.rfind("/members/", 0) == 0) {
    members_request(std::move(call), request, params);
    return;
  }
  struct Route {
    const char* path;
    const char* method;
    Endpoint endpoint;
  };
  static constexpr Route kRoutes[] = {
      {"/set", "GET", Endpoint::kSet},        {"/get", "GET", Endpoint::kGet},
      {"/status", "GET", Endpoint::kStatus},  {"/metrics", "GET", Endpoint::kMetrics},
      {"/leader", "POST", Endpoint::kLeader}, {"/snapshot", "POST", Endpoint::kSnapshot}};
  const auto* route = std::find_if(std::begin(kRoutes), std::end(kRoutes),
                                   [&](const Route& r) { return path == r.path; });
  if (route == std::end(kRoutes)) {
    reply_error(call, 404, "no such path");
    return;
  }
  call.endpoint = route->endpoint;
  if (method != route->method) {
    reply_method_not_allowed(call, route->method);
    return;
  }
  if (path == "/set")
    goraft_set(std::move(call), params);
  else if (path == "/get")
    goraft_get(std::move(call), params);
  else if (path == "/status")
    status(std::move(call));
  else if (path == "/leader")
    transfer_leadership(std::move(call), params);
  else if (path == "/snapshot")
    snapshot(std::move(call), params);
  else if (path == "/metrics") {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics_text();
    reply(call, std::move(response));
  } else {
    reply_error(call, 501, "not implemented yet");
  }
}

void HttpApi::kv_request(Call call, http::Request& request, std::string key, const Params& params) {
  if (request.method == "PUT") {
    call.endpoint = Endpoint::kKvPut;
    put(std::move(call), std::move(key), std::move(request.body), params);
  } else if (request.method == "GET") {
    call.endpoint = Endpoint::kKvGet;
    const ParamProblem problem = unexpected_param(params, {"stale"});
    bool stale = false;
    if (problem) return reply_rejected(call, problem);
    if (!bool_param(params, "stale", &stale)) {
      return reply_rejected(call, http::Rejection::kInvalidParameter, 400,
                            "stale must be true or false");
    }
    get(std::move(call), std::move(key), stale);
  } else if (request.method == "DELETE") {
    call.endpoint = Endpoint::kKvDelete;
    const ParamProblem problem = unexpected_param(params, {});
    if (problem) return reply_rejected(call, problem);
    remove(std::move(call), std::move(key));
  } else {
    call.endpoint = Endpoint::kKvOther;
    reply_method_not_allowed(call, "GET, PUT, DELETE");
  }
}

bool HttpApi::check_key(Call& call, const std::string& key) {
  if (key.empty()) {
    reply_rejected(call, http::Rejection::kEmptyKey, 400, "empty key");
    return false;
  }
  if (key.size() > node_->config().max_key_bytes) {
    reply_rejected(call, http::Rejection::kKeyTooLarge, 413, "key too large");
    return false;
  }
  return true;
}

bool HttpApi::check_value(Call& call, const std::string& value) {
  if (value.size() > node_->config().max_value_bytes) {
    reply_rejected(call, http::Rejection::kValueTooLarge, 413, "value too large");
    return false;
  }
  return true;
}

void HttpApi::put(Call call, std::string key, std::string value, const Params& params) {
  const ParamProblem problem = unexpected_param(params, {"prev", "prev_exists"});
  if (problem) return reply_rejected(call, problem);
  if (!check_key(call, key) || !check_value(call, value)) return;
  const std::string* prev = find_param(params, "prev");
  const std::string* prev_exists = find_param(params, "prev_exists");
  if (prev != nullptr && prev_exists != nullptr) {
    return reply_rejected(call, http::Rejection::kConflictingParameters, 400,
                          "prev and prev_exists cannot be combined");
  }
  if (prev_exists != nullptr && *prev_exists != "false") {
    return reply_rejected(call, http::Rejection::kInvalidParameter, 400,
                          "prev_exists only accepts false");
  }
  pb::KvCommand& command = reused_command();
  command.set_key(key);
  command.set_value(value);
  if (prev != nullptr) {
    command.set_op(pb::KvCommand::CAS);
    command.set_prev(*prev);
  } else if (prev_exists != nullptr) {
    command.set_op(pb::KvCommand::CREATE);
  } else {
    command.set_op(pb::KvCommand::PUT);
  }
  const std::uint32_t slot = park(std::move(call), {});
  node_->submit_write(&command,
                      [this, slot](const RequestResult& result) { finish_write(slot, result); });
}

void HttpApi::remove(Call call, std::string key) {
  if (!check_key(call, key)) return;
  pb::KvCommand& command = reused_command();
  command.set_op(pb::KvCommand::DELETE);
  command.set_key(key);
  const std::uint32_t slot = park(std::move(call), {});
  node_->submit_write(&command,
                      [this, slot](const RequestResult& result) { finish_write(slot, result); });
}

// One message for every write: copying key and value into the string
// buffers it keeps across Clear() allocates nothing once they have grown,
// where a fresh message allocated a string object for each field.
pb::KvCommand& HttpApi::reused_command() {
  command_.Clear();
  return command_;
}

std::uint32_t HttpApi::park(Call call, std::string_view key) {
  std::uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(parked_.size());
    parked_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  parked_[slot].call = std::move(call);
  parked_[slot].key.assign(key);
  return slot;
}

HttpApi::Call HttpApi::unpark(std::uint32_t slot) {
  return std::move(parked_[slot].call);
}

void HttpApi::release(std::uint32_t slot) {
  // Drops the moved-from responder's reference now, not at the next park.
  parked_[slot].call = Call{};
  free_slots_.push_back(slot);
}

void HttpApi::finish_write(std::uint32_t slot, const RequestResult& result) {
  Call call = unpark(slot);
  release(slot);
  if (result.status == RequestStatus::kOk) {
    // Built in place: this runs for every acknowledged write.
    static constexpr std::string_view kPrefix = "{\"index\": ";
    char buffer[kPrefix.size() + 24];
    char* end = std::copy(kPrefix.begin(), kPrefix.end(), buffer);
    end = std::to_chars(end, buffer + sizeof buffer - 1, result.index).ptr;
    *end++ = '}';
    http::Response response;
    response.body.assign(buffer, end);
    reply(call, std::move(response));
    return;
  }
  reply_for(call, result);
}

void HttpApi::get(Call call, std::string key, bool stale) {
  if (!check_key(call, key)) return;
  if (stale) {
    call.endpoint = Endpoint::kKvGetStale;
    answer_value(std::move(call), key);
    return;
  }
  const std::uint32_t slot = park(std::move(call), key);
  node_->linearizable_read(
      [this, slot](const RequestResult& result) { finish_read(slot, result); });
}

void HttpApi::finish_read(std::uint32_t slot, const RequestResult& result) {
  Call call = unpark(slot);
  // Answering never re-enters the handler (Responder::send), so nothing is
  // parked meanwhile and the key's reference stays valid.
  if (result.status == RequestStatus::kOk) {
    answer_value(std::move(call), parked_[slot].key);
  } else {
    reply_for(call, result);
  }
  release(slot);
}

void HttpApi::answer_value(Call call, const std::string& key) {
  // Stale reads too: a removed or joining member's state is nobody's.
  if (const char* why = node_->not_serving_reason()) return reply_error(call, 503, why);
  const std::string* value = node_->state_machine().get(key);
  if (value == nullptr) return reply_error(call, 404, "key not found");
  http::Response response;
  response.content_type = "application/octet-stream";
  // Not copied into a string: the state machine is not touched before
  // send() returns, and the server copies what it cannot write at once.
  response.borrowed_body = *value;
  reply(call, std::move(response));
}

void HttpApi::goraft_set(Call call, const Params& params) {
  const ParamProblem problem = unexpected_param(params, {"key", "value"});
  if (problem) return reply_rejected(call, problem);
  const std::string* key = find_param(params, "key");
  const std::string* value = find_param(params, "value");
  if (key == nullptr || value == nullptr)
    return reply_rejected(call, http::Rejection::kMissingParameter, 400, "key and value required");
  put(std::move(call), *key, *value, {});
}

void HttpApi::goraft_get(Call call, const Params& params) {
  const ParamProblem problem = unexpected_param(params, {"key", "relaxed"});
  if (problem) return reply_rejected(call, problem);
  const std::string* key = find_param(params, "key");
  bool relaxed = false;
  if (key == nullptr)
    return reply_rejected(call, http::Rejection::kMissingParameter, 400, "key required");
  if (!bool_param(params, "relaxed", &relaxed)) {
    return reply_rejected(call, http::Rejection::kInvalidParameter, 400,
                          "relaxed must be true or false");
  }
  get(std::move(call), *key, relaxed);
}

// POST /leader?to=ID: answers once the target leads; the codes are in
// docs/http-api.md.
void HttpApi::transfer_leadership(Call call, const Params& params) {
  const ParamProblem problem = unexpected_param(params, {"to"});
  if (problem) return reply_rejected(call, problem);
  const std::string* to = find_param(params, "to");
  if (to == nullptr)
    return reply_rejected(call, http::Rejection::kMissingParameter, 400,
                          "parameter 'to' (a member id) required");
  const std::optional<core::NodeId> target = parse_member_id(*to);
  if (!target)
    return reply_rejected(call, http::Rejection::kInvalidParameter, 400,
                          "'to' must be a member id (a decimal number)");
  node_->transfer_leadership(
      *target, [this, call = std::move(call)](const TransferOutcome& outcome) mutable {
        finish_transfer(std::move(call), outcome);
      });
}

// POST /snapshot: 200 {"index", "term"} once the snapshot file is durable
// (the log is compacted right after); 409 while one is being taken or with
// nothing applied yet; 503 shutting down; 500 when writing it failed.
void HttpApi::snapshot(Call call, const Params& params) {
  const ParamProblem problem = unexpected_param(params, {});
  if (problem) return reply_rejected(call, problem);
  node_->take_snapshot([this, call = std::move(call)](const SnapshotOutcome& outcome) mutable {
    switch (outcome.status) {
      case SnapshotStatus::kOk: {
        http::Response response;
        response.body = "{\"index\": " + std::to_string(outcome.index) +
                        ", \"term\": " + std::to_string(outcome.term) + "}";
        return reply(call, std::move(response));
      }
      case SnapshotStatus::kBusy:
      case SnapshotStatus::kNothing:
        return reply_error(call, 409, outcome.reason);
      case SnapshotStatus::kUnavailable:
        return reply_error(call, 503, outcome.reason);
      case SnapshotStatus::kFailed:
        return reply_error(call, 500, outcome.reason);
    }
  });
}

void HttpApi::finish_transfer(Call call, const TransferOutcome& outcome) {
  switch (outcome.status) {
    case TransferStatus::kLeads: {
      http::Response response;
      response.body = "{\"leader\": " + std::to_string(outcome.leader) +
                      ", \"term\": " + std::to_string(outcome.term) + "}";
      return reply(call, std::move(response));
    }
    case TransferStatus::kNotVoter:
      return reply_error(call, 409, outcome.reason);
    case TransferStatus::kNotLeader:
    case TransferStatus::kFailed:
      return reply_error(call, 503, outcome.reason);
    case TransferStatus::kTimeout:
      return reply_error(call, 504, outcome.reason);
  }
}

void HttpApi::reply_for(Call& call, const RequestResult& result) {
  const int code = http_status(result.status);
  const char* message = result.reason[0] != '\0' ? result.reason
                        : code == 404            ? "key not found"
                        : code == 412            ? "precondition failed"
                                                 : "request failed";
  reply_error(call, code, message);
}

void HttpApi::reply_method_not_allowed(Call& call, const char* allowed) {
  metrics_.rejected.add(http::Rejection::kMethodNotAllowed);
  http::Response response = error_body(405, "method not allowed");
  // RFC 9110 §15.5.6: a 405 must say which methods the resource supports.
  response.headers.emplace_back("Allow", allowed);
  reply(call, std::move(response));
}

http::Response HttpApi::error_body(int status, std::string_view message) const {
  std::string body = "{\"error\": \"" + http::json_escape(message) + "\"";
  const core::NodeId leader = node_->status().leader;
  if (leader != core::kNoNode) body += ", \"leader\": " + std::to_string(leader);
  body += "}";
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

void HttpApi::reply_error(Call& call, int status, std::string_view message) {
  reply(call, error_body(status, message));
}

void HttpApi::reply_rejected(Call& call, http::Rejection reason, int status,
                             std::string_view message) {
  metrics_.rejected.add(reason);
  reply_error(call, status, message);
}

void HttpApi::reply_rejected(Call& call, const ParamProblem& problem) {
  reply_rejected(call, problem.reason, 400, problem.message);
}

void HttpApi::reply(Call& call, http::Response response) {
  metrics_.record(call.endpoint, response.status, now_us() - call.start_us);
  call.responder.send(std::move(response));
}

}  // namespace raftkv::daemon
