// Encoding of key-value commands as the payload of Raft log entries.
#pragma once

#include <string>
#include <string_view>

#include "kv.pb.h"

namespace raftkv::kv {

std::string encode_command(const pb::KvCommand& command);
// False when `data` is not a valid KvCommand (a corrupt or foreign entry).
bool decode_command(std::string_view data, pb::KvCommand* command);

// Decodes commands into one message it keeps: once its strings have grown
// to the sizes seen, decoding allocates nothing (protobuf keeps a string
// field's buffer across the Clear() that parsing starts with). Applying runs
// for every entry on every member, so this matters; the price is one
// buffer per field as large as the largest value decoded so far.
class CommandDecoder {
 public:
  // The command in `data`, valid until the next decode(); nullptr when
  // `data` is not a valid KvCommand.
  const pb::KvCommand* decode(std::string_view data);

 private:
  pb::KvCommand command_;
};

// A one-line human description: `put k=v`, `delete k`, `cas k prev=a value=b`,
// `create k=v`; non-printable bytes are escaped as \xNN.
std::string describe_command(const pb::KvCommand& command);

}  // namespace raftkv::kv
