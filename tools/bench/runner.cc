#include "runner.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "http_client.h"

namespace raftkv::bench {

namespace {

constexpr std::uint64_t kNsPerMs = 1'000'000;
constexpr std::uint64_t kTickMs = 10;  // timeouts, reconnects, phase ends, progress

enum class Phase { kConnecting, kPrefill, kWarmup, kMeasure, kDone };

const char* phase_label(Phase phase) {
  switch (phase) {
    case Phase::kPrefill:
      return "(prefill)";
    case Phase::kWarmup:
      return "(warmup)";
    default:
      return "";
  }
}

bool is_success(int status, OpKind op) {
  return (status >= 200 && status < 300) || (status == 404 && op == OpKind::kRead);
}

class Runner final : public ConnectionListener {
 public:
  Runner(uv_loop_t* loop, const RunConfig& config,
         const std::function<void(const std::string&)>& progress);

  RunResult run();

  void on_connected(Connection& connection) override;
  void on_response(Connection& connection, int status, const RequestInfo& info,
                   std::string_view body) override;
  void on_broken(Connection& connection, Failure why, std::size_t lost) override;
  void on_closed(Connection& connection) override;

 private:
  struct Client {
    std::unique_ptr<Connection> connection;
    const RequestBuilder* builder = nullptr;
    const Endpoint* endpoint = nullptr;
    std::string value;  // reused buffers for --cas values
    std::string prev;
    std::uint64_t seq = 0;
    // key -> seq of the last value this client wrote successfully (--cas only).
    std::unordered_map<std::uint64_t, std::uint64_t> written;
    std::uint64_t reconnect_at_ns = 0;
    unsigned failures = 0;
    bool ever_failed = false;
  };

  Client& client_of(Connection& connection) { return clients_[connection.id]; }
  void tick();
  void check_startup(std::uint64_t now);
  void check_timeouts_and_reconnect(std::uint64_t now);
  void check_phase_end(std::uint64_t now);
  void check_stranded(std::uint64_t now);
  void print_progress(std::uint64_t now);
  void rate_tick();
  void begin_phases();
  void enter_phase(Phase phase, std::uint64_t now);
  bool want_issue() const;
  void pump(Client& client);
  void pump_all();
  void issue(Client& client);
  void count_response(const RequestInfo& info, int status, std::uint64_t now);
  void count_lost(Failure why, std::size_t lost);
  void counted_one();
  void finish(std::uint64_t now);
  void abort_run(std::string why);
  std::size_t connected_count() const;

  static void on_tick_cb(uv_timer_t* timer);
  static void on_rate_cb(uv_timer_t* timer);
  static void on_timer_closed_cb(uv_handle_t* handle);

  uv_loop_t* loop_;
  RunConfig config_;
  std::function<void(const std::string&)> progress_;
  Workload workload_;
  std::vector<RequestBuilder> builders_;
  std::vector<Client> clients_;
  std::string constant_value_;
  uv_timer_t tick_timer_{};
  uv_timer_t rate_timer_{};
  std::size_t open_handles_ = 0;

  Phase phase_ = Phase::kConnecting;
  bool finished_ = false;
  bool closing_all_ = false;  // run over: on_closed counts down open_handles_
  std::string failure_;
  std::string note_;  // why a run ended early, if it did
  std::string last_connect_error_;
  std::uint64_t started_ns_ = 0;  // construction: connect deadline origin
  std::uint64_t phase_start_ns_ = 0;
  std::uint64_t run_start_ns_ = 0;  // first phase after connecting: progress origin
  std::uint64_t measure_end_ns_ = 0;
  std::uint64_t last_open_ns_ = 0;  // last tick with a connection open
  std::uint64_t prefill_issued_ = 0, prefill_done_ = 0;
  std::uint64_t measure_issued_ = 0, measure_counted_ = 0;
  // Fixed-rate schedule: request k is due at rate_origin + k / rate.
  std::uint64_t rate_origin_ns_ = 0, rate_due_ = 0, rate_dispatched_ = 0;
  // Progress: successes since the last line.
  std::uint64_t interval_ops_ = 0, last_progress_ns_ = 0;
  std::size_t pump_cursor_ = 0;
  Stats stats_;
};

Runner::Runner(uv_loop_t* loop, const RunConfig& config,
               const std::function<void(const std::string&)>& progress)
    : loop_(loop), config_(config), progress_(progress), workload_(config.workload) {
  builders_.reserve(config_.endpoints.size());
  for (const Endpoint& endpoint : config_.endpoints)
    builders_.emplace_back(config_.target, config_.stale, endpoint.host_header(), endpoint.path);
  constant_value_.resize(config_.value_size);
  for (std::size_t i = 0; i < constant_value_.size(); ++i)
    constant_value_[i] = static_cast<char>('a' + i % 26);
  clients_.resize(std::max<std::size_t>(config_.clients, 1));
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    const std::size_t e = i % config_.endpoints.size();
    Client& client = clients_[i];
    client.builder = &builders_[e];
    client.endpoint = &config_.endpoints[e];
    sockaddr_storage address;
    util::to_sockaddr(client.endpoint->address, &address);
    client.connection = std::make_unique<Connection>(
        loop_, address, std::max<std::size_t>(config_.pipeline, 1), this);
    client.connection->id = i;
  }
}

RunResult Runner::run() {
  started_ns_ = uv_hrtime();
  uv_timer_init(loop_, &tick_timer_);
  tick_timer_.data = this;
  uv_timer_start(&tick_timer_, &Runner::on_tick_cb, kTickMs, kTickMs);
  uv_timer_init(loop_, &rate_timer_);
  rate_timer_.data = this;
  open_handles_ = 0;
  for (Client& client : clients_) client.connection->connect();
  // The loop may carry other handles (a test's server), so run it until this
  // run is over rather than until it is empty.
  while (!finished_) uv_run(loop_, UV_RUN_ONCE);
  closing_all_ = true;
  open_handles_ = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), &Runner::on_timer_closed_cb);
  uv_close(reinterpret_cast<uv_handle_t*>(&rate_timer_), &Runner::on_timer_closed_cb);
  for (Client& client : clients_) {
    client.connection->close();
    if (client.connection->state() != Connection::State::kIdle) ++open_handles_;
  }
  while (open_handles_ > 0) uv_run(loop_, UV_RUN_ONCE);

  RunResult result;
  result.ok = failure_.empty();
  result.failure = failure_;
  result.note = note_;
  Summary& summary = result.summary;
  summary.stats = stats_;
  summary.duration_s = phase_start_ns_ == 0 || !result.ok
                           ? 0
                           : static_cast<double>(measure_end_ns_ - phase_start_ns_) / 1e9;
  summary.clients = clients_.size();
  summary.writes_percent = config_.workload.writes_percent;
  summary.value_size = config_.value_size;
  summary.target = target_kind_name(config_.target);
  return result;
}

void Runner::on_timer_closed_cb(uv_handle_t* handle) {
  --static_cast<Runner*>(handle->data)->open_handles_;
}

void Runner::on_tick_cb(uv_timer_t* timer) {
  static_cast<Runner*>(timer->data)->tick();
}
void Runner::on_rate_cb(uv_timer_t* timer) {
  static_cast<Runner*>(timer->data)->rate_tick();
}

void Runner::tick() {
  if (finished_) return;
  const std::uint64_t now = uv_hrtime();
  if (phase_ == Phase::kConnecting) check_startup(now);
  if (finished_) return;
  check_timeouts_and_reconnect(now);
  check_stranded(now);
  if (finished_) return;
  check_phase_end(now);
  if (!finished_ && phase_ != Phase::kConnecting) print_progress(now);
}

// A run starts once every client is connected, or at the connect deadline
// with whatever connected. If nothing can connect it stops early rather than
// hammering a dead address for the whole duration.
void Runner::check_startup(std::uint64_t now) {
  const std::size_t connected = connected_count();
  const bool all_failed =
      std::all_of(clients_.begin(), clients_.end(), [](const Client& c) { return c.ever_failed; });
  if (connected == 0 && all_failed) {
    abort_run("cannot connect: " + last_connect_error_);
  } else if (now - started_ns_ >= config_.connect_deadline_ms * kNsPerMs) {
    if (connected == 0)
      abort_run("no connection succeeded within " + std::to_string(config_.connect_deadline_ms) +
                " ms" + (last_connect_error_.empty() ? "" : " (" + last_connect_error_ + ")"));
    else
      begin_phases();
  }
}

void Runner::check_timeouts_and_reconnect(std::uint64_t now) {
  const std::uint64_t timeout_ns = config_.timeout_ms * kNsPerMs;
  for (Client& client : clients_) {
    Connection& connection = *client.connection;
    switch (connection.state()) {
      case Connection::State::kOpen:
        if (connection.in_flight() > 0 && now - connection.oldest().sent_ns >= timeout_ns)
          connection.fail(Failure::kTimeout);
        break;
      case Connection::State::kConnecting:
        if (now - connection.connect_started_ns() >= timeout_ns) {
          last_connect_error_ = "connect timed out";
          connection.fail(Failure::kConnect);
        }
        break;
      case Connection::State::kIdle:
        if (now >= client.reconnect_at_ns) connection.connect();
        break;
      case Connection::State::kClosing:
        break;
    }
    if (finished_) return;
  }
}

void Runner::check_phase_end(std::uint64_t now) {
  if (phase_ == Phase::kWarmup && now - phase_start_ns_ >= config_.warmup_ms * kNsPerMs)
    enter_phase(Phase::kMeasure, now);
  else if (phase_ == Phase::kMeasure && config_.requests == 0 &&
           now - phase_start_ns_ >= config_.duration_ms * kNsPerMs)
    finish(now);
}

// A run that counts requests (prefill, --requests) only ends when answers
// come; if every connection has been down for the connect deadline it stops
// instead of waiting forever for a cluster that is gone.
void Runner::check_stranded(std::uint64_t now) {
  if (connected_count() > 0) {
    last_open_ns_ = now;
    return;
  }
  if (now - last_open_ns_ < config_.connect_deadline_ms * kNsPerMs) return;
  const std::string why = "no connection for " + std::to_string(config_.connect_deadline_ms) +
                          " ms (" + last_connect_error_ + ")";
  if (phase_ == Phase::kPrefill) {
    abort_run("prefill stopped: " + why);
  } else if (phase_ == Phase::kMeasure && config_.requests > 0) {
    note_ = "stopped early: " + why;
    finish(now);
  }
}

void Runner::print_progress(std::uint64_t now) {
  if (now - last_progress_ns_ < 1'000 * kNsPerMs) return;
  const double interval_s = static_cast<double>(now - last_progress_ns_) / 1e9;
  if (config_.progress && progress_) {
    progress_(format_progress(static_cast<double>(now - run_start_ns_) / 1e9,
                              static_cast<double>(interval_ops_) / interval_s,
                              stats_.errors.total(), stats_.latency.percentile(99),
                              phase_label(phase_)));
  }
  interval_ops_ = 0;
  last_progress_ns_ = now;
}

void Runner::begin_phases() {
  const std::uint64_t now = uv_hrtime();
  run_start_ns_ = last_progress_ns_ = last_open_ns_ = now;
  if (config_.prefill && config_.workload.keys > 0)
    enter_phase(Phase::kPrefill, now);
  else
    enter_phase(config_.warmup_ms > 0 ? Phase::kWarmup : Phase::kMeasure, now);
}

void Runner::enter_phase(Phase phase, std::uint64_t now) {
  phase_ = phase;
  phase_start_ns_ = now;
  // Everything before the measurement is thrown away.
  if (phase == Phase::kMeasure) stats_ = Stats{};
  // The fixed-rate schedule starts with the first paced phase.
  if (config_.rate > 0 && (phase == Phase::kWarmup || phase == Phase::kMeasure) &&
      rate_origin_ns_ == 0) {
    rate_origin_ns_ = now;
    uv_timer_start(&rate_timer_, &Runner::on_rate_cb, 0, 1);
  }
  pump_all();
}

void Runner::rate_tick() {
  if (finished_ || rate_origin_ns_ == 0) return;
  const double elapsed_s = static_cast<double>(uv_hrtime() - rate_origin_ns_) / 1e9;
  rate_due_ = static_cast<std::uint64_t>(elapsed_s * config_.rate) + 1;
  pump_all();
}

bool Runner::want_issue() const {
  switch (phase_) {
    case Phase::kPrefill:
      return prefill_issued_ < config_.workload.keys;
    case Phase::kWarmup:
      break;
    case Phase::kMeasure:
      if (config_.requests > 0 && measure_issued_ >= config_.requests) return false;
      break;
    default:
      return false;
  }
  return config_.rate <= 0 || rate_dispatched_ < rate_due_;
}

void Runner::pump(Client& client) {
  while (client.connection->can_send() && want_issue() && !finished_) issue(client);
}

// Start from a rotating client so that, at a fixed rate, no connection is
// always first in line.
void Runner::pump_all() {
  const std::size_t n = clients_.size();
  for (std::size_t i = 0; i < n && want_issue() && !finished_; ++i)
    pump(clients_[(pump_cursor_ + i) % n]);
  pump_cursor_ = (pump_cursor_ + 1) % n;
}

void Runner::issue(Client& client) {
  Connection& connection = *client.connection;
  const std::uint64_t now = uv_hrtime();
  Op op;
  if (phase_ == Phase::kPrefill) {
    op = {OpKind::kWrite, prefill_issued_++};
  } else {
    op = workload_.next();
    if (phase_ == Phase::kMeasure) ++measure_issued_;
  }
  RequestInfo& info = connection.next_info();
  info.sent_ns = now;
  info.start_ns = now;
  if (config_.rate > 0 && phase_ != Phase::kPrefill) {
    info.start_ns =
        rate_origin_ns_ +
        static_cast<std::uint64_t>(static_cast<double>(rate_dispatched_) * 1e9 / config_.rate);
    ++rate_dispatched_;
  }
  info.key = op.key;
  info.op = static_cast<std::uint8_t>(op.kind);
  RequestSpec spec{op.kind, op.key, constant_value_, {}};
  // --cas needs values that name their writer so that a later CAS can quote
  // the exact previous value; otherwise one constant value serves every write.
  if (config_.workload.cas_percent > 0 && op.kind != OpKind::kRead) {
    info.seq = ++client.seq;
    format_value(connection.id, info.seq, config_.value_size, &client.value);
    spec.value = client.value;
    if (op.kind == OpKind::kCas) {
      const auto it = client.written.find(op.key);
      if (it != client.written.end()) {
        format_value(connection.id, it->second, config_.value_size, &client.prev);
        spec.prev = client.prev;
      }
    }
  }
  client.builder->build(spec, &connection.next_buffer());
  connection.send();
}

void Runner::on_connected(Connection& connection) {
  Client& client = client_of(connection);
  client.failures = 0;
  if (phase_ == Phase::kConnecting) {
    if (connected_count() == clients_.size()) begin_phases();
    return;
  }
  pump(client);
}

void Runner::on_response(Connection& connection, int status, const RequestInfo& info,
                         std::string_view) {
  const std::uint64_t now = uv_hrtime();
  Client& client = client_of(connection);
  const auto op = static_cast<OpKind>(info.op);
  if (config_.workload.cas_percent > 0 && op != OpKind::kRead) {
    // Remember what this client last wrote; after a failed CAS forget the
    // key, so the next CAS on it starts over with a plain write.
    if (status >= 200 && status < 300)
      client.written[info.key] = info.seq;
    else if (status == 412)
      client.written.erase(info.key);
  }
  if (is_success(status, op)) ++interval_ops_;
  if (phase_ == Phase::kPrefill) {
    if (++prefill_done_ == config_.workload.keys)
      enter_phase(config_.warmup_ms > 0 ? Phase::kWarmup : Phase::kMeasure, now);
  } else if (phase_ == Phase::kMeasure) {
    count_response(info, status, now);
  }
  if (!finished_) pump(client);
}

void Runner::count_response(const RequestInfo& info, int status, std::uint64_t now) {
  const auto op = static_cast<OpKind>(info.op);
  if (is_success(status, op)) {
    ++stats_.ops;
    if (status == 404) ++stats_.not_found;
    stats_.latency.record(now - info.start_ns);
  } else {
    stats_.errors.add_status(status);
  }
  counted_one();
}

void Runner::counted_one() {
  ++measure_counted_;
  if (config_.requests > 0 && measure_counted_ >= config_.requests) finish(uv_hrtime());
}

void Runner::on_broken(Connection& connection, Failure why, std::size_t lost) {
  Client& client = client_of(connection);
  // Back off 10 ms, 20 ms, ... up to 1 s so a dead member is not hammered.
  const unsigned shift = std::min(client.failures, 7u);
  client.reconnect_at_ns = uv_hrtime() + (10u << shift) * kNsPerMs;
  ++client.failures;
  if (why == Failure::kConnect) {
    client.ever_failed = true;
    last_connect_error_ = client.endpoint->address.to_string() + ": " + connection.last_error();
  }
  if (phase_ == Phase::kPrefill) {
    prefill_done_ += lost;
    if (prefill_done_ >= config_.workload.keys && prefill_issued_ >= config_.workload.keys)
      enter_phase(config_.warmup_ms > 0 ? Phase::kWarmup : Phase::kMeasure, uv_hrtime());
  } else if (phase_ == Phase::kMeasure) {
    count_lost(why, lost);
  }
}

void Runner::count_lost(Failure why, std::size_t lost) {
  switch (why) {
    case Failure::kConnect:
      ++stats_.errors.connect;
      return;  // no request was lost
    case Failure::kTimeout:
      stats_.errors.timeout += lost;
      break;
    case Failure::kClosed:
      stats_.errors.closed += lost;
      break;
    case Failure::kProtocol:
      stats_.errors.protocol += lost;
      break;
  }
  for (std::size_t i = 0; i < lost && !finished_; ++i) counted_one();
}

void Runner::on_closed(Connection& connection) {
  if (closing_all_) {
    --open_handles_;
    return;
  }
  // A clean close (the server ending keep-alive) reconnects at once; after a
  // failure the tick reconnects once the backoff has passed.
  if (uv_hrtime() >= client_of(connection).reconnect_at_ns) connection.connect();
}

void Runner::finish(std::uint64_t now) {
  if (finished_) return;
  measure_end_ns_ = now;
  phase_ = Phase::kDone;
  finished_ = true;
}

void Runner::abort_run(std::string why) {
  failure_ = std::move(why);
  finish(uv_hrtime());
}

std::size_t Runner::connected_count() const {
  return static_cast<std::size_t>(std::count_if(
      clients_.begin(), clients_.end(),
      [](const Client& c) { return c.connection->state() == Connection::State::kOpen; }));
}

}  // namespace

RunResult run_benchmark(uv_loop_t* loop, const RunConfig& config,
                        const std::function<void(const std::string&)>& progress) {
  Runner runner(loop, config, progress);
  return runner.run();
}

}  // namespace raftkv::bench
