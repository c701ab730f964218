// Human and JSON renderings of log entries and their commands.
#pragma once

#include <string>
#include <string_view>

#include "raft.pb.h"

namespace raftkv::dump {

// Bytes as text: printable ASCII as is, backslash as "\\", anything else as
// "\xHH", so that keys and values with binary bytes stay on one line.
std::string escape_bytes(std::string_view bytes);

// A JSON string literal (with quotes). Bytes >= 0x80 and control bytes are
// written as \u00XX: each byte maps to one code point, so any key or value
// survives as valid JSON.
std::string json_string(std::string_view bytes);

// "normal", "noop", "conf-change", or "type-N" for unknown values.
std::string entry_type_name(int type);

// The command of an entry: "put k=v", "delete k", "cas k prev=a value=b",
// "create k=v" for ENTRY_NORMAL (or "data <escaped>" if it is not a
// KvCommand); "conf add-learner 3 raft=HOST:PORT http=HOST:PORT",
// "conf promote 3", "conf remove 3" for ENTRY_CONF_CHANGE (or "data
// <escaped>" if it is not a ConfChange); "" for a no-op; "data <escaped>"
// otherwise.
std::string command_text(const pb::Entry& entry);

// The same as a JSON object (the value of "command"), or "null". A
// configuration change is {"conf":"add-learner"|"promote"|"remove","id":N,
// "raft":..,"http":.. (add-learner only),"origin":N,"request_id":N}.
std::string command_json(const pb::Entry& entry);

// A configuration's members: "1 raft=A http=B; 3 learner raft=C http=D".
std::string members_text(const pb::ClusterConfig& config);
// The same as a JSON array of {"id":N,"raft":..,"http":..,"learner":bool}.
std::string members_json(const pb::ClusterConfig& config);

}  // namespace raftkv::dump
