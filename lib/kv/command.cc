#include "kv/command.h"

#include <cstdio>

namespace raftkv::kv {
namespace {

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    }
  }
  return out;
}

}  // namespace

std::string encode_command(const pb::KvCommand& command) {
  return command.SerializeAsString();
}

bool decode_command(std::string_view data, pb::KvCommand* command) {
  return command->ParseFromArray(data.data(), static_cast<int>(data.size()));
}

const pb::KvCommand* CommandDecoder::decode(std::string_view data) {
  return decode_command(data, &command_) ? &command_ : nullptr;
}

std::string describe_command(const pb::KvCommand& command) {
  const std::string key = printable(command.key());
  switch (command.op()) {
    case pb::KvCommand::PUT:
      return "put " + key + "=" + printable(command.value());
    case pb::KvCommand::DELETE:
      return "delete " + key;
    case pb::KvCommand::CAS:
      return "cas " + key + " prev=" + printable(command.prev()) +
             " value=" + printable(command.value());
    case pb::KvCommand::CREATE:
      return "create " + key + "=" + printable(command.value());
    default:
      return "unknown-op " + key;
  }
}

}  // namespace raftkv::kv
