#include "daemon/members_api.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>

#include "daemon/http_api.h"
#include "daemon/query_params.h"
#include "http/json.h"
#include "util/address.h"
#include "util/cluster_spec.h"

namespace raftkv::daemon {
namespace {

constexpr std::string_view kMembersPrefix = "/members/";

}  // namespace

bool parse_add_member(const QueryParams& params, pb::Member* member, ParamProblem* error) {
  *error = unexpected_param(params, {"id", "raft", "http"});
  if (*error) return false;
  const std::string* id_text = find_param(params, "id");
  const std::string* raft_text = find_param(params, "raft");
  const std::string* http_text = find_param(params, "http");
  if (id_text == nullptr || raft_text == nullptr) {
    *error = {http::Rejection::kMissingParameter,
              "parameters 'id' (a member id) and 'raft' (its peer address, host:port) required"};
    return false;
  }
  const std::optional<core::NodeId> id = parse_member_id(*id_text);
  if (!id) {
    *error = {http::Rejection::kInvalidParameter, "'id' must be a member id (a decimal number)"};
    return false;
  }
  const auto raft = util::parse_address(*raft_text);
  if (!raft) {
    *error = {http::Rejection::kInvalidParameter,
              "'raft' must be host:port or :port with a numeric host"};
    return false;
  }
  util::MemberSpec spec{*id, *raft, std::nullopt};
  if (http_text != nullptr) {
    spec.http = util::parse_address(*http_text);
    if (!spec.http) {
      *error = {http::Rejection::kInvalidParameter,
                "'http' must be host:port or :port with a numeric host"};
      return false;
    }
  }
  member->set_id(*id);
  member->set_raft_address(raft->to_string());
  member->set_http_address(util::default_http_address(spec).to_string());
  member->set_learner(true);
  return true;
}

std::optional<core::NodeId> parse_remove_member(std::string_view path, const QueryParams& params,
                                                ParamProblem* error) {
  *error = unexpected_param(params, {});
  if (*error) return std::nullopt;
  if (path.substr(0, kMembersPrefix.size()) != kMembersPrefix) {
    *error = {http::Rejection::kInvalidParameter, "the path must be /members/ID"};
    return std::nullopt;
  }
  const std::optional<core::NodeId> id = parse_member_id(path.substr(kMembersPrefix.size()));
  if (!id) {
    *error = {http::Rejection::kInvalidParameter,
              "the path must be /members/ID with ID a member id (a decimal number)"};
  }
  return id;
}

int change_http_status(ChangeStatus status) {
  switch (status) {
    case ChangeStatus::kApplied:
      return 200;
    case ChangeStatus::kNotFound:
      return 404;
    case ChangeStatus::kRefused:
      return 409;
    case ChangeStatus::kUnavailable:
      return 503;
    case ChangeStatus::kTimeout:
      return 504;
  }
  return 500;
}

std::string applied_body(const ChangeOutcome& outcome) {
  return "{\"index\": " + std::to_string(outcome.index) +
         ", \"members\": " + members_json(outcome.config) + "}";
}

// GET, POST /members and DELETE /members/ID.
void HttpApi::members_request(Call call, const http::Request& request, const Params& params) {
  const bool collection = request.path == "/members";
  if (collection && request.method == "GET") {
    call.endpoint = Endpoint::kMembers;
    return list_members(std::move(call), params);
  }
  if (collection && request.method == "POST") {
    call.endpoint = Endpoint::kMembersAdd;
    return add_member(std::move(call), params);
  }
  if (!collection && request.method == "DELETE") {
    call.endpoint = Endpoint::kMembersRemove;
    return remove_member(std::move(call), request.path, params);
  }
  call.endpoint = collection ? Endpoint::kMembers : Endpoint::kMembersRemove;
  reply_method_not_allowed(call, collection ? "GET, POST" : "DELETE");
}

void HttpApi::list_members(Call call, const Params& params) {
  const ParamProblem problem = unexpected_param(params, {});
  if (problem) return reply_rejected(call, problem);
  http::Response response;
  response.body = members_json(node_->membership());
  reply(call, std::move(response));
}

void HttpApi::add_member(Call call, const Params& params) {
  pb::ConfChange change;
  ParamProblem error;
  if (!parse_add_member(params, change.mutable_member(), &error)) {
    return reply_rejected(call, error);
  }
  change.set_type(pb::ConfChange::ADD_LEARNER);
  node_->change_membership(std::move(change),
                           [this, call = std::move(call)](const ChangeOutcome& outcome) mutable {
                             finish_change(std::move(call), outcome);
                           });
}

void HttpApi::remove_member(Call call, const std::string& path, const Params& params) {
  ParamProblem error;
  const std::optional<core::NodeId> id = parse_remove_member(path, params, &error);
  if (!id) return reply_rejected(call, error);
  pb::ConfChange change;
  change.set_type(pb::ConfChange::REMOVE);
  change.mutable_member()->set_id(*id);
  node_->change_membership(std::move(change),
                           [this, call = std::move(call)](const ChangeOutcome& outcome) mutable {
                             finish_change(std::move(call), outcome);
                           });
}

void HttpApi::finish_change(Call call, const ChangeOutcome& outcome) {
  const int code = change_http_status(outcome.status);
  if (code == 200) {
    http::Response response;
    response.body = applied_body(outcome);
    return reply(call, std::move(response));
  }
  http::Response response = error_body(code, outcome.reason);
  std::string extra;
  if (outcome.retry) extra += ", \"retry\": true";
  // Where to send it instead: the leader's client address, when known.
  const core::NodeId leader = node_->status().leader;
  const pb::Member* known = member_of(node_->membership(), leader);
  if (code == 503 && known != nullptr && leader != node_->config().node_id) {
    extra += ", \"leader_http\": \"" + http::json_escape(known->http_address()) + "\"";
  }
  if (!extra.empty()) {
    response.body.pop_back();  // the closing brace of error_body()'s object
    response.body += extra + "}";
  }
  reply(call, std::move(response));
}

}  // namespace raftkv::daemon
