// The membership admin API (docs/http-api.md "Membership"):
//
//   GET /members                            the configuration in force here
//   POST /members?id=ID&raft=ADDR[&http=ADDR]  add a member (as a learner;
//                                           the leader promotes it to voter
//                                           once it has caught up)
//   DELETE /members/ID                      remove a member
//
// The HttpApi handlers live in members_api.cc; this header holds the parts
// that stand alone: parsing and validating a request, and the status code
// and body of each outcome.
//
// Changes are the leader's to make, as POST /leader is: a follower answers
// 503 naming the leader (and its HTTP address, when known) rather than
// forwarding, so that the answer comes from the member that proposes the
// change and can say exactly what happened to it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.h"
#include "daemon/membership.h"
#include "daemon/query_params.h"
#include "raft.pb.h"

namespace raftkv::daemon {

// POST /members: id (decimal), raft (host:port or :port, a numeric host or
// localhost, since peers dial it), http (optional, same form; default
// 127.0.0.1:2020+ID as in --cluster). Fills *member (a learner) or sets
// *error to the 400 reason: a missing, repeated or unknown parameter, a bad
// id or address.
bool parse_add_member(const QueryParams& params, pb::Member* member, ParamProblem* error);

// DELETE /members/ID: the id after "/members/" in `path`, or nullopt with
// *error set (400). No query parameters are accepted.
std::optional<core::NodeId> parse_remove_member(std::string_view path, const QueryParams& params,
                                                ParamProblem* error);

// The HTTP status of an outcome: 200, 404, 409, 503, 504.
int change_http_status(ChangeStatus status);

// The 200 body: {"index": N, "members": [...]}.
std::string applied_body(const ChangeOutcome& outcome);

}  // namespace raftkv::daemon
