#include "daemon/config.h"

#include <cstdio>

#include "util/flags.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kUsageHead =
    "usage: raftkvd --node ID --cluster SPEC [--http ADDR] [--data-dir DIR] [flags]\n"
    "\n"
    "A replicated key-value daemon built on Raft. SPEC lists the members, separated\n"
    "by ';', each ID,RAFT_ADDR[,HTTP_ADDR]; an address is host:port or :port\n"
    "(127.0.0.1). Example: raftkvd --node 0 --cluster '0,:3030;1,:3031;2,:3032'\n"
    "\n"
    "flags:\n";

util::FlagParser::Setter uint_setter(std::uint64_t* out, std::uint64_t min, std::uint64_t max) {
  return [=](std::string_view value) {
    const auto n = util::parse_uint(value);
    if (!n || *n < min || *n > max) return false;
    *out = *n;
    return true;
  };
}

util::FlagParser::Setter duration_setter(std::uint64_t* out, std::uint64_t min) {
  return [=](std::string_view value) {
    const auto ms = util::parse_duration_ms(value);
    if (!ms || *ms < min) return false;
    *out = *ms;
    return true;
  };
}

util::FlagParser::Setter size_setter(std::uint64_t* out, std::uint64_t min, std::uint64_t max) {
  return [=](std::string_view value) {
    const auto n = util::parse_size(value);
    if (!n || *n < min || *n > max) return false;
    *out = *n;
    return true;
  };
}

void add_flags(util::FlagParser& parser, DaemonConfig* c, std::string* cluster_error, bool* help,
               bool* version) {
  parser.add("node", "ID", "this member's id (required)", [c](std::string_view v) {
    const auto n = util::parse_uint(v);
    if (!n || *n == ~std::uint64_t{0}) return false;
    c->node_id = *n;
    c->node_set = true;
    return true;
  });
  parser.add("cluster", "SPEC", "the members: ID,RAFT_ADDR[,HTTP_ADDR];... (required)",
             [c, cluster_error](std::string_view v) {
               auto members = util::parse_cluster_spec(v, cluster_error);
               if (members) c->members = std::move(*members);
               return members.has_value();
             });
  parser.add("http", "ADDR", "client API address (default: from --cluster, else :2020+ID)",
             [c](std::string_view v) {
               const auto address = util::parse_address(v);
               if (address) c->http = *address;
               c->http_set = address.has_value();
               return address.has_value();
             });
  parser.add("data-dir", "DIR", "data directory, created if missing (default ./raftkv-data-ID)",
             [c](std::string_view v) {
               c->data_dir = v;
               return !v.empty();
             });
  parser.add("cluster-secret-file", "PATH",
             "a secret shared by all members (mode 0600, at least 16 bytes): peers must "
             "prove they know it to connect",
             [c](std::string_view v) {
               c->cluster_secret_file = v;
               return !v.empty();
             });
  parser.add_bool("join",
                  "join a running cluster: SPEC names this member and at least one existing "
                  "one; waits with an empty data dir to be added (POST /members)",
                  [c] { c->join = true; });
  parser.add("snapshot-entries", "N",
             "take a snapshot and compact the log every N applied entries (default 10000)",
             uint_setter(&c->snapshot_entries, 1, ~std::uint64_t{0}));
  parser.add("snapshot-trailing", "N",
             "log entries kept behind a snapshot for lagging followers (default 5000)",
             uint_setter(&c->snapshot_trailing, 0, ~std::uint64_t{0}));
  parser.add("wal-segment-bytes", "N",
             "size at which a log segment is closed; compaction deletes whole segments "
             "(default 64m)",
             size_setter(&c->wal_segment_bytes, 4096, std::uint64_t{1} << 32));
  parser.add("heartbeat-interval", "MS", "leader heartbeat interval (default 50ms)",
             duration_setter(&c->heartbeat_interval_ms, 1));
  parser.add("election-timeout", "MS", "base election timeout, randomized up to 2x (default 500ms)",
             duration_setter(&c->election_timeout_ms, 2));
  parser.add("request-timeout", "MS", "client request timeout, then 504 (default 5s)",
             duration_setter(&c->request_timeout_ms, 1));
  parser.add("max-key-bytes", "N", "largest key (default 1024)",
             size_setter(&c->max_key_bytes, 1, 64 << 20));
  parser.add("max-value-bytes", "N", "largest value (default 1m)",
             size_setter(&c->max_value_bytes, 0, 64 << 20));
  parser.add("max-connections", "N", "open client connections allowed (default 4096)",
             uint_setter(&c->max_connections, 1, 1 << 20));
  parser.add("header-timeout", "MS",
             "a request's headers must arrive within this (slowloris; default 10s)",
             duration_setter(&c->header_timeout_ms, 1));
  parser.add("idle-timeout", "MS", "close client connections idle this long (default 60s)",
             duration_setter(&c->idle_timeout_ms, 1));
  parser.add("log-level", "LEVEL", "debug, info, warn or error (default info)",
             [c](std::string_view v) { return util::parse_log_level(v, &c->log_level); });
  parser.add_bool("help", "print this help and exit", [help] { *help = true; });
  parser.add_bool("version", "print the version and exit", [version] { *version = true; });
}

bool find_self(const DaemonConfig& c) {
  for (const auto& member : c.members) {
    if (member.id == c.node_id) return true;
  }
  return false;
}

// Checks that concern several flags at once.
bool validate(DaemonConfig* c, std::string* error) {
  if (!c->node_set) {
    *error = "--node is required";
    return false;
  }
  if (c->members.empty()) {
    *error = "--cluster is required";
    return false;
  }
  if (!find_self(*c)) {
    *error = "--node: member " + std::to_string(c->node_id) + " is not in --cluster";
    return false;
  }
  if (c->join && c->members.size() < 2) {
    *error = "--join: --cluster must name at least one existing member besides this one";
    return false;
  }
  if (c->election_timeout_ms < 2 * c->heartbeat_interval_ms) {
    *error = "--election-timeout: must be at least twice --heartbeat-interval";
    return false;
  }
  if (!c->http_set) c->http = util::default_http_address(c->self());
  if (c->data_dir.empty()) c->data_dir = "./raftkv-data-" + std::to_string(c->node_id);
  return true;
}

}  // namespace

const util::MemberSpec& DaemonConfig::self() const {
  for (const auto& member : members) {
    if (member.id == node_id) return member;
  }
  return members.front();  // unreachable after validate()
}

ParseResult parse_daemon_flags(int argc, const char* const* argv, DaemonConfig* config,
                               std::string* error) {
  util::FlagParser parser;
  std::string cluster_error;
  bool help = false;
  bool version = false;
  add_flags(parser, config, &cluster_error, &help, &version);
  std::vector<std::string> positional;
  if (!parser.parse(argc, argv, &positional, error)) {
    if (!cluster_error.empty()) *error = "--cluster: " + cluster_error;
    return ParseResult::kBadCommandLine;
  }
  if (help) {
    std::printf("%s%s", kUsageHead, parser.usage().c_str());
    return ParseResult::kExitOk;
  }
  if (version) {
    std::printf("raftkvd %s\n", RAFTKV_VERSION);
    return ParseResult::kExitOk;
  }
  if (!positional.empty()) {
    *error = "unexpected argument '" + positional.front() + "'";
    return ParseResult::kBadCommandLine;
  }
  return validate(config, error) ? ParseResult::kRun : ParseResult::kBadCommandLine;
}

}  // namespace raftkv::daemon
