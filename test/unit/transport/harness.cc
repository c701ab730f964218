#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include <catch2/catch.hpp>

#include "transport/frame.h"
#include "util/log.h"

namespace raftkv::transport::test {

// --- Loop -----------------------------------------------------------------------

Loop::Loop() {
  uv_loop_init(&loop_);
  if (std::getenv("RAFTKV_TEST_DEBUG") != nullptr) util::set_log_level(util::LogLevel::kDebug);
}

Loop::~Loop() {
  if (!closed_) close();
}

bool Loop::run_until(const std::function<bool()>& done, std::uint64_t timeout_ms) {
  struct Deadline {
    uv_timer_t timer;
    bool expired = false;
  };
  auto* deadline = new Deadline;
  uv_timer_init(&loop_, &deadline->timer);
  deadline->timer.data = deadline;
  uv_timer_start(
      &deadline->timer,
      [](uv_timer_t* timer) { static_cast<Deadline*>(timer->data)->expired = true; }, timeout_ms,
      0);
  while (!done() && !deadline->expired) uv_run(&loop_, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline->timer),
           [](uv_handle_t* handle) { delete static_cast<Deadline*>(handle->data); });
  return done();
}

void Loop::run_for(std::uint64_t ms) {
  run_until([] { return false; }, ms);
}

int Loop::close() {
  uv_run(&loop_, UV_RUN_NOWAIT);  // pending close callbacks
  closed_ = true;
  return uv_loop_close(&loop_);
}

// --- addresses and messages -------------------------------------------------------

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

util::Address loopback(std::uint16_t port) {
  return util::Address{"127.0.0.1", port};
}

pb::Message heartbeat(core::NodeId to, std::uint64_t term) {
  pb::Message message;
  message.set_to(to);
  message.set_term(term);
  message.mutable_append_entries()->set_leader_commit(term);
  return message;
}

pb::Message entries(core::NodeId to, std::uint64_t term, std::size_t bytes) {
  pb::Message message;
  message.set_to(to);
  message.set_term(term);
  pb::Entry* entry = message.mutable_append_entries()->add_entries();
  entry->set_term(term);
  entry->set_index(term);
  entry->set_data(std::string(bytes, 'x'));
  return message;
}

pb::Message vote(core::NodeId to, std::uint64_t term) {
  pb::Message message;
  message.set_to(to);
  message.set_term(term);
  message.mutable_request_vote()->set_last_log_index(term);
  return message;
}

std::string frame_of(const google::protobuf::MessageLite& message) {
  std::string frame;
  REQUIRE(append_frame(message, 64 << 20, &frame));
  return frame;
}

// --- Node -----------------------------------------------------------------------------

Node::Node(Loop& loop, core::NodeId id_in, std::vector<Peer> peers, std::uint16_t port,
           TransportOptions options)
    : id(id_in) {
  transport = std::make_unique<Transport>(
      loop.get(), id, std::move(peers), options, [this](pb::Message&& message) {
        received.push_back(
            {message.from(), message.term(),
             message.has_append_entries() && message.append_entries().entries_size() > 0});
        if (on_receive) on_receive(message);
      });
  if (port != 0) REQUIRE(transport->listen(loopback(port)) == 0);
}

Node::~Node() {
  // A failed test may leave the transport open: leak it rather than abort.
  if (!closed) (void)transport.release();
}

bool Node::close(Loop& loop) {
  transport->close([this] { closed = true; });
  return loop.run_until([this] { return closed; });
}

bool connect_first(Loop& loop, Node& from, Node& to) {
  const std::size_t before = to.received.size();
  if (!from.transport->send(heartbeat(to.id, 1))) return false;
  if (!loop.run_until([&] { return to.received.size() > before; })) return false;
  to.received.clear();
  return true;
}

// --- RawClient ---------------------------------------------------------------------

RawClient::RawClient(Loop& loop, std::uint16_t port, std::string bytes) : bytes_(std::move(bytes)) {
  uv_tcp_init(loop.get(), &tcp_);
  tcp_.data = this;
  connect_.data = this;
  sockaddr_in address{};
  uv_ip4_addr("127.0.0.1", port, &address);
  REQUIRE(uv_tcp_connect(&connect_, &tcp_, reinterpret_cast<const sockaddr*>(&address),
                         connect_cb) == 0);
}

// If a test failed before closing a handle, the object is simply abandoned
// with the loop; aborting here would hide Catch's report.
RawClient::~RawClient() = default;

void RawClient::connect_cb(uv_connect_t* request, int status) {
  auto* client = static_cast<RawClient*>(request->data);
  if (status < 0) {
    client->closed_by_server_ = true;
    return;
  }
  client->connected_ = true;
  auto* stream = reinterpret_cast<uv_stream_t*>(&client->tcp_);
  if (!client->bytes_.empty()) {
    uv_buf_t buf = uv_buf_init(client->bytes_.data(), static_cast<unsigned>(client->bytes_.size()));
    uv_write(&client->write_, stream, &buf, 1, [](uv_write_t*, int) {});
  }
  uv_read_start(
      stream,
      [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
        auto* self = static_cast<RawClient*>(handle->data);
        *buf = uv_buf_init(self->buffer_, sizeof self->buffer_);
      },
      read_cb);
}

void RawClient::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  if (nread < 0) {
    static_cast<RawClient*>(stream->data)->closed_by_server_ = true;
    uv_read_stop(stream);
  }
}

void RawClient::closed_cb(uv_handle_t* handle) {
  static_cast<RawClient*>(handle->data)->handle_closed_ = true;
}

void RawClient::close_and_wait(Loop& loop) {
  if (!closing_) {
    closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), closed_cb);
  }
  REQUIRE(loop.run_until([this] { return handle_closed_; }));
}

// --- StuckListener ---------------------------------------------------------------

StuckListener::StuckListener(Loop& loop, std::uint16_t port) {
  uv_tcp_init(loop.get(), &server_);
  server_.data = this;
  ++open_handles_;
  sockaddr_in address{};
  uv_ip4_addr("127.0.0.1", port, &address);
  REQUIRE(uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&address), 0) == 0);
  REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 16, connection_cb) == 0);
}

StuckListener::~StuckListener() = default;

void StuckListener::connection_cb(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* self = static_cast<StuckListener*>(server->data);
  auto* client = new uv_tcp_t;
  uv_tcp_init(server->loop, client);
  client->data = self;
  ++self->open_handles_;
  uv_accept(server, reinterpret_cast<uv_stream_t*>(client));
  self->accepted_.push_back(client);  // never read: the sender's queue must fill up
}

void StuckListener::closed_cb(uv_handle_t* handle) {
  auto* self = static_cast<StuckListener*>(handle->data);
  if (handle != reinterpret_cast<uv_handle_t*>(&self->server_)) {
    delete reinterpret_cast<uv_tcp_t*>(handle);
  }
  --self->open_handles_;
}

void StuckListener::close_and_wait(Loop& loop) {
  uv_close(reinterpret_cast<uv_handle_t*>(&server_), closed_cb);
  for (uv_tcp_t* client : accepted_) uv_close(reinterpret_cast<uv_handle_t*>(client), closed_cb);
  accepted_.clear();
  REQUIRE(loop.run_until([this] { return open_handles_ == 0; }));
}

// --- Ticker ---------------------------------------------------------------------------

Ticker::Ticker(Loop& loop, std::uint64_t period_ms, std::function<void()> tick)
    : tick_(std::move(tick)) {
  uv_timer_init(loop.get(), &timer_);
  timer_.data = this;
  uv_timer_start(
      &timer_, [](uv_timer_t* timer) { static_cast<Ticker*>(timer->data)->tick_(); }, period_ms,
      period_ms);
}

Ticker::~Ticker() = default;

void Ticker::stop_and_wait(Loop& loop) {
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
           [](uv_handle_t* handle) { static_cast<Ticker*>(handle->data)->closed_ = true; });
  REQUIRE(loop.run_until([this] { return closed_; }));
}

}  // namespace raftkv::transport::test
