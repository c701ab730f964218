// raftkvd: one member of a raftkv cluster. Wires the write-ahead log, the
// Raft node, the peer transport and the HTTP API onto one libuv loop, and
// handles signals and exit codes (0 clean shutdown, 1 fatal error, 2 bad
// command line).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "core/core.h"
#include "daemon/config.h"
#include "daemon/http_api.h"
#include "daemon/raft_node.h"
#include "daemon/systemd_notify.h"
#include "http/server.h"
#include "kv/state_machine.h"
#include "storage/wal.h"
#include "transport/peer_auth.h"
#include "util/log.h"
#include "util/secret_file.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kLog = "raftkvd";

[[noreturn]] void die(const std::string& reason) {
  std::fprintf(stderr, "raftkvd: %s\n", reason.c_str());
  std::exit(1);
}

http::Limits http_limits(const DaemonConfig& config) {
  http::Limits limits;
  // Room for the value itself; the API answers 413 for a value over
  // max_value_bytes, the server for anything bigger still.
  limits.max_body_bytes = config.max_value_bytes + 4096;
  limits.max_connections = config.max_connections;
  limits.header_timeout_ms = config.header_timeout_ms;
  limits.idle_timeout_ms = config.idle_timeout_ms;
  return limits;
}

// Recovery hands the chosen snapshot's pairs straight to the state machine,
// so a big snapshot is read once (verified and loaded in the same pass).
class StateMachineSink : public storage::SnapshotSink {
 public:
  explicit StateMachineSink(kv::StateMachine* state) : state_(state) {}
  void pair(std::string_view key, std::string_view value) override { state_->restore(key, value); }
  void discard() override { state_->clear(); }

 private:
  kv::StateMachine* state_;
};

// What `systemctl status` shows: "role follower, term 3, leader 1".
std::string status_text(core::Role role, core::Term term, core::NodeId leader, core::NodeId self) {
  std::string text =
      "role " + std::string(core::role_name(role)) + ", term " + std::to_string(term) + ", ";
  if (leader == core::kNoNode) return text + "no leader";
  return text + "leader " + std::to_string(leader) + (leader == self ? " (this member)" : "");
}

// Everything that lives for the whole run, torn down in order on shutdown.
class Daemon {
 public:
  Daemon(uv_loop_t* loop, const DaemonConfig& config)
      : loop_(loop), config_(config), notifier_(loop) {}

  // Recovers the data dir, binds both ports, then tells systemd READY=1:
  // a client that sees the unit active can connect at once.
  void start() {
    notifier_.status("recovering " + config_.data_dir);
    storage::RecoveredState recovered;
    std::string error;
    storage::WalOptions wal_options;
    wal_options.segment_bytes = config_.wal_segment_bytes;
    wal_options.batch_until_kick = true;  // RaftNode::process_ready() kicks
    kv::StateMachine state;
    StateMachineSink sink(&state);
    const std::uint64_t start_ns = uv_hrtime();
    auto wal = storage::Wal::open(loop_, config_.data_dir, wal_options, &recovered, &error, &sink);
    if (!wal) die("cannot recover data dir " + config_.data_dir + ": " + error);
    std::string from_snapshot;
    if (recovered.snapshot) {
      from_snapshot = "a snapshot of " + std::to_string(state.key_count()) + " keys at index " +
                      std::to_string(recovered.snapshot->meta.index()) + " and ";
    }
    RKV_INFO(kLog, "member %llu recovered %s%zu log entries from %s (term %llu) in %llu ms",
             static_cast<unsigned long long>(config_.node_id), from_snapshot.c_str(),
             recovered.entries.size(), config_.data_dir.c_str(),
             static_cast<unsigned long long>(recovered.hard_state.term()),
             static_cast<unsigned long long>((uv_hrtime() - start_ns) / 1000000));
    node_ = std::make_unique<RaftNode>(loop_, config_, std::move(wal), std::move(recovered),
                                       std::move(state));
    api_ = std::make_unique<HttpApi>(loop_, node_.get());
    server_ = std::make_unique<http::Server>(
        loop_, http_limits(config_), [this](http::Request&& request, http::Responder responder) {
          api_->handle(std::move(request), std::move(responder));
        });
    api_->show_server_metrics(&server_->metrics());
    listen();
    node_->on_fatal([this] {
      exit_code_ = 1;
      begin_shutdown();
    });
    node_->on_soft_state([this](const core::SoftState& soft) {
      notifier_.status(status_text(soft.role, soft.term, soft.leader, config_.node_id));
    });
    watch_signals();
    notifier_.ready();
    report_status();
    RKV_INFO(kLog, "member %llu serving: raft %s, http %s",
             static_cast<unsigned long long>(config_.node_id),
             config_.self().raft.to_string().c_str(), config_.http.to_string().c_str());
  }

  int exit_code() const { return exit_code_; }

 private:
  void listen() {
    if (const int rc = node_->start(); rc != 0) {
      die("cannot listen on raft address " + config_.self().raft.to_string() + ": " +
          uv_strerror(rc));
    }
    if (const int rc = server_->listen(config_.http); rc != 0) {
      die("cannot listen on http address " + config_.http.to_string() + ": " + uv_strerror(rc));
    }
  }

  void report_status() {
    const core::Status s = node_->status();
    notifier_.status(status_text(s.role, s.term, s.leader, config_.node_id));
  }

  void watch_signals() {
    for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_}) {
      uv_signal_init(loop_, handle);
      handle->data = this;
    }
    auto on_signal = [](uv_signal_t* handle, int signum) {
      RKV_INFO(kLog, "received %s; shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
      static_cast<Daemon*>(handle->data)->begin_shutdown();
    };
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_signal_start(
        &sighup_, [](uv_signal_t* handle, int) { static_cast<Daemon*>(handle->data)->on_sighup(); },
        SIGHUP);
  }

  // The conventional "reload" signal. Every setting comes from the command
  // line and logs go to stderr, so there is nothing to re-read or re-open:
  // answer with one line showing the member's state (handy as
  // `systemctl kill -s HUP raftkvd@0`) instead of dying, SIGHUP's default.
  void on_sighup() {
    const core::Status s = node_->status();
    RKV_INFO(kLog,
             "received SIGHUP: nothing to reload (restart the member to change flags); %s, "
             "commit %llu, applied %llu",
             status_text(s.role, s.term, s.leader, config_.node_id).c_str(),
             static_cast<unsigned long long>(s.commit_index),
             static_cast<unsigned long long>(s.applied_index));
  }

  // Stop accepting clients, fail what is pending, finish in-flight fsyncs,
  // close every handle; uv_run returns once nothing is left.
  void begin_shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    notifier_.stopping();
    notifier_.status("stopping");
    notifier_.close();
    for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_}) {
      uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
    }
    // libuv restores SIG_DFL when it lets go of a signal; a SIGHUP while the
    // last fsyncs finish must not kill the member.
    std::signal(SIGHUP, SIG_IGN);
    node_->shutdown([this] {
      server_->close([this] {
        RKV_INFO(kLog, "member %llu stopped", static_cast<unsigned long long>(config_.node_id));
      });
    });
  }

  uv_loop_t* loop_;
  DaemonConfig config_;
  std::unique_ptr<RaftNode> node_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<http::Server> server_;
  SystemdNotifier notifier_;
  uv_signal_t sigterm_{};
  uv_signal_t sigint_{};
  uv_signal_t sighup_{};
  bool shutting_down_ = false;
  int exit_code_ = 0;
};

// Reads --cluster-secret-file, if given. A runtime error (exit 1), like an
// unreadable data dir: the command line itself was fine.
bool load_cluster_secret(DaemonConfig* config) {
  if (config->cluster_secret_file.empty()) return true;
  std::string error;
  if (!util::read_secret_file(config->cluster_secret_file, &config->cluster_secret, &error)) {
    std::fprintf(stderr, "raftkvd: --cluster-secret-file %s\n", error.c_str());
    return false;
  }
  if (!transport::init_peer_auth()) {
    std::fprintf(stderr, "raftkvd: cannot initialise libsodium for the cluster secret\n");
    return false;
  }
  return true;
}

}  // namespace
}  // namespace raftkv::daemon

int main(int argc, char** argv) {
  using namespace raftkv;
  // A peer or client closing its socket must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Nor a SIGHUP before the loop's own handler is installed (see on_sighup).
  std::signal(SIGHUP, SIG_IGN);
  daemon::DaemonConfig config;
  std::string error;
  switch (daemon::parse_daemon_flags(argc, argv, &config, &error)) {
    case daemon::ParseResult::kExitOk:
      return 0;
    case daemon::ParseResult::kBadCommandLine:
      std::fprintf(stderr, "raftkvd: %s (see --help)\n", error.c_str());
      return 2;
    case daemon::ParseResult::kRun:
      break;
  }
  util::set_log_level(config.log_level);
  if (!daemon::load_cluster_secret(&config)) return 1;
  uv_loop_t* loop = uv_default_loop();
  daemon::Daemon raftkvd(loop, config);
  raftkvd.start();
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return raftkvd.exit_code();
}
