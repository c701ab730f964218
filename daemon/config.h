// raftkvd's settings, from its command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/address.h"
#include "util/cluster_spec.h"
#include "util/log.h"

namespace raftkv::daemon {

struct DaemonConfig {
  std::uint64_t node_id = 0;
  bool node_set = false;
  bool join = false;
  std::vector<util::MemberSpec> members;
  util::Address http;  // client API
  bool http_set = false;
  std::string data_dir;
  // --cluster-secret-file: "" for none. main() reads it into cluster_secret
  // at start (util/secret_file.h); the secret is never on the command line.
  std::string cluster_secret_file;
  std::string cluster_secret;

  std::uint64_t snapshot_entries = 10000;
  // Entries kept in the log behind a snapshot, so that a follower only
  // slightly behind catches up from the log instead of a whole snapshot.
  std::uint64_t snapshot_trailing = 5000;
  std::uint64_t wal_segment_bytes = 64ull << 20;
  std::uint64_t heartbeat_interval_ms = 50;
  std::uint64_t election_timeout_ms = 500;
  std::uint64_t request_timeout_ms = 5000;
  std::uint64_t max_key_bytes = 1024;
  std::uint64_t max_value_bytes = 1 << 20;
  std::uint64_t max_connections = 4096;
  std::uint64_t header_timeout_ms = 10000;
  std::uint64_t idle_timeout_ms = 60000;
  util::LogLevel log_level = util::LogLevel::kInfo;

  // This member's entry in `members`.
  const util::MemberSpec& self() const;
};

enum class ParseResult { kRun, kExitOk, kBadCommandLine };

// Parses argv. Prints --help/--version to stdout (kExitOk); on a bad
// command line sets *error to one line naming the flag or value.
ParseResult parse_daemon_flags(int argc, const char* const* argv, DaemonConfig* config,
                               std::string* error);

}  // namespace raftkv::daemon
