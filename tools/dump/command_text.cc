#include "command_text.h"

#include <cstdio>

#include "kv.pb.h"

namespace raftkv::dump {

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    }
  }
  return out;
}

std::string json_string(std::string_view bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", byte);
      out += hex;
    }
  }
  return out + "\"";
}

std::string entry_type_name(int type) {
  switch (type) {
    case pb::ENTRY_NORMAL:
      return "normal";
    case pb::ENTRY_NOOP:
      return "noop";
    case pb::ENTRY_CONF_CHANGE:
      return "conf-change";
    default:
      return "type-" + std::to_string(type);
  }
}

namespace {

bool parse_command(const pb::Entry& entry, pb::KvCommand* command) {
  return entry.type() == pb::ENTRY_NORMAL && !entry.data().empty() &&
         command->ParseFromString(entry.data());
}

// An empty payload is a valid ConfChange too (ADD_LEARNER of member 0).
bool parse_conf_change(const pb::Entry& entry, pb::ConfChange* change) {
  return entry.type() == pb::ENTRY_CONF_CHANGE && change->ParseFromString(entry.data());
}

std::string conf_change_name(int type) {
  switch (type) {
    case pb::ConfChange::ADD_LEARNER:
      return "add-learner";
    case pb::ConfChange::PROMOTE:
      return "promote";
    case pb::ConfChange::REMOVE:
      return "remove";
    default:
      return "type-" + std::to_string(type);
  }
}

std::string conf_change_text(const pb::ConfChange& change) {
  std::string out =
      "conf " + conf_change_name(change.type()) + " " + std::to_string(change.member().id());
  if (change.type() == pb::ConfChange::ADD_LEARNER) {
    out += " raft=" + escape_bytes(change.member().raft_address()) +
           " http=" + escape_bytes(change.member().http_address());
  }
  return out;
}

std::string conf_change_json(const pb::ConfChange& change) {
  std::string out = "{\"conf\":" + json_string(conf_change_name(change.type())) +
                    ",\"id\":" + std::to_string(change.member().id());
  if (change.type() == pb::ConfChange::ADD_LEARNER) {
    out += ",\"raft\":" + json_string(change.member().raft_address()) +
           ",\"http\":" + json_string(change.member().http_address());
  }
  out += ",\"origin\":" + std::to_string(change.origin());
  out += ",\"request_id\":" + std::to_string(change.request_id()) + "}";
  return out;
}

}  // namespace

std::string command_text(const pb::Entry& entry) {
  if (entry.type() == pb::ENTRY_NOOP && entry.data().empty()) return "";
  if (pb::ConfChange change; parse_conf_change(entry, &change)) return conf_change_text(change);
  pb::KvCommand command;
  if (!parse_command(entry, &command)) return "data " + escape_bytes(entry.data());
  const std::string key = escape_bytes(command.key());
  const std::string value = escape_bytes(command.value());
  switch (command.op()) {
    case pb::KvCommand::PUT:
      return "put " + key + "=" + value;
    case pb::KvCommand::DELETE:
      return "delete " + key;
    case pb::KvCommand::CAS:
      return "cas " + key + " prev=" + escape_bytes(command.prev()) + " value=" + value;
    case pb::KvCommand::CREATE:
      return "create " + key + "=" + value;
    default:
      return "op-" + std::to_string(command.op()) + " " + key;
  }
}

std::string command_json(const pb::Entry& entry) {
  if (pb::ConfChange change; parse_conf_change(entry, &change)) return conf_change_json(change);
  pb::KvCommand command;
  if (!parse_command(entry, &command)) {
    if (entry.data().empty()) return "null";
    return "{\"data\":" + json_string(entry.data()) + "}";
  }
  static const char* const kOps[] = {"put", "delete", "cas", "create"};
  const int op = command.op();
  std::string out = "{\"op\":";
  out += op >= 0 && op < 4 ? json_string(kOps[op]) : std::to_string(op);
  out += ",\"key\":" + json_string(command.key());
  if (op != pb::KvCommand::DELETE) out += ",\"value\":" + json_string(command.value());
  if (op == pb::KvCommand::CAS) out += ",\"prev\":" + json_string(command.prev());
  out += ",\"origin\":" + std::to_string(command.origin());
  out += ",\"request_id\":" + std::to_string(command.request_id()) + "}";
  return out;
}

std::string members_text(const pb::ClusterConfig& config) {
  std::string out;
  for (const pb::Member& member : config.members()) {
    if (!out.empty()) out += "; ";
    out += std::to_string(member.id()) + (member.learner() ? " learner" : "") +
           " raft=" + escape_bytes(member.raft_address()) +
           " http=" + escape_bytes(member.http_address());
  }
  return out;
}

std::string members_json(const pb::ClusterConfig& config) {
  std::string out = "[";
  for (const pb::Member& member : config.members()) {
    if (out.size() > 1) out += ",";
    out += "{\"id\":" + std::to_string(member.id()) +
           ",\"raft\":" + json_string(member.raft_address()) +
           ",\"http\":" + json_string(member.http_address()) +
           ",\"learner\":" + (member.learner() ? "true" : "false") + "}";
  }
  return out + "]";
}

}  // namespace raftkv::dump
