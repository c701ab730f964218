// Reads a small secret from a file that only its owner may access: the
// cluster secret (raftkvd --cluster-secret-file), in the manner of ssh with
// private keys. Refused, with a one-line reason: a file that cannot be
// opened or read, is not a regular file, is accessible to group or others
// (any of mode 0077), is empty, holds fewer than kMinSecretBytes or more
// than kMaxSecretBytes. The secret is the file's bytes exactly, a trailing
// newline included.
#pragma once

#include <cstddef>
#include <string>

namespace raftkv::util {

inline constexpr std::size_t kMinSecretBytes = 16;
inline constexpr std::size_t kMaxSecretBytes = 4096;

// True and *secret set, or false and *error set ("PATH: why").
bool read_secret_file(const std::string& path, std::string* secret, std::string* error);

}  // namespace raftkv::util
