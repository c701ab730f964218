// The `hardstate` file: the term and vote a member must never forget.
//
//   offset 0     u32 LE  magic 0x53484b52 (the bytes "RKHS")
//   offset 4     u32 LE  format version (kFormatVersion)
//   offset 8     u32 LE  payload length N (<= kMaxHardStatePayload)
//   offset 12    N bytes: a serialized pb::HardState (so fields added to
//                the message later are kept without a format change)
//   offset 12+N  u32 LE  crc32 of bytes 0 .. 11+N
//
// It is replaced atomically: written to `hardstate.tmp`, fdatasync'd,
// renamed over `hardstate`, then the directory is fsync'd. A leftover
// `hardstate.tmp` is an interrupted replacement and is ignored (then removed).
#pragma once

#include <cstdint>
#include <string>

#include "raft.pb.h"

namespace raftkv::storage {

inline constexpr char kHardStateName[] = "hardstate";
inline constexpr char kHardStateTmpName[] = "hardstate.tmp";
inline constexpr std::uint32_t kHardStateMagic = 0x53484b52;
inline constexpr std::uint32_t kMaxHardStatePayload = 4096;

std::string encode_hard_state(const pb::HardState& state);

// Decodes the file's bytes; on failure returns false with `problem` and the
// byte offset where the problem was found.
bool decode_hard_state(const std::string& bytes, pb::HardState* state, std::string* problem,
                       std::uint64_t* offset);

}  // namespace raftkv::storage
