// Encoding of key-value commands as the payload of Raft log entries.
#pragma once

#include <string>
#include <string_view>

#include "kv.pb.h"

namespace raftkv::kv {

std::string encode_command(const pb::KvCommand& command);
// False when `data` is not a valid KvCommand (a corrupt or foreign entry).
bool decode_command(std::string_view data, pb::KvCommand* command);

// A one-line human description: `put k=v`, `delete k`, `cas k prev=a value=b`,
// `create k=v`; non-printable bytes are escaped as \xNN.
std::string describe_command(const pb::KvCommand& command);

}  // namespace raftkv::kv
