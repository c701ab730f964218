#include "transport/transport.h"

#include <cinttypes>
#include <cstdlib>
#include <map>
#include <unordered_set>
#include <utility>

#include "transport/handle_tracker.h"
#include "transport/inbound.h"
#include "transport/outbound.h"
#include "util/log.h"

namespace raftkv::transport {
namespace {

constexpr const char* kLog = "transport";
constexpr int kListenBacklog = 128;
// Accepted connections still owing their handshake beyond this are refused
// at once: garbage clients cannot pile up sockets for handshake_timeout_ms.
constexpr std::size_t kMaxUnidentified = 64;

}  // namespace

struct Transport::Impl final : InboundHost {
  Impl(uv_loop_t* loop_in, core::NodeId self_in, TransportOptions options_in,
       MessageHandler handler)
      : loop(loop_in),
        self_id(self_in),
        options(std::move(options_in)),
        on_message(std::move(handler)) {}

  // InboundHost
  core::NodeId self() const override { return self_id; }
  bool is_peer(core::NodeId id) const override { return peers.contains(id); }
  void on_identified(Inbound* connection) override;
  void on_rejected() override { ++rejected; }
  void on_closing(Inbound* connection) override { inbound.erase(connection); }
  void deliver(pb::Message&& message) override;

  void add_peer(Peer peer);
  void accept_one();
  void request_flush(Outbound* peer);
  void run_flushes();
  std::size_t unidentified_connections() const;

  static void connection_cb(uv_stream_t* server, int status);
  static void listener_closed_cb(uv_handle_t* handle);
  static void prepare_cb(uv_prepare_t* prepare);
  static void prepare_closed_cb(uv_handle_t* handle);

  uv_loop_t* loop;
  core::NodeId self_id;
  TransportOptions options;
  MessageHandler on_message;
  HandleTracker handles;
  bool closing = false;

  // All per-peer state, by id (the seam for set_peers()). Each Outbound
  // references `options` and `handles`, declared above.
  std::map<core::NodeId, std::unique_ptr<Outbound>> peers;
  std::unordered_set<Inbound*> inbound;  // each frees itself once closed
  uv_tcp_t* listener = nullptr;          // heap: freed in its close callback

  // Flushes requested during a loop iteration run from a prepare hook, just
  // before libuv polls for I/O, so that the messages sent to a peer in one
  // iteration share one uv_write.
  uv_prepare_t flush_hook;
  std::vector<Outbound*> dirty;

  std::uint64_t rejected = 0;
  std::uint64_t unroutable = 0;
};

// --- Impl ---------------------------------------------------------------------

void Transport::Impl::add_peer(Peer peer) {
  if (peer.id == self_id || peers.contains(peer.id)) {
    RKV_WARN(kLog, "ignoring peer %" PRIu64 ": duplicate or self", peer.id);
    return;
  }
  if (sockaddr_storage probe; !util::to_sockaddr(peer.address, &probe)) {
    // Kept (sends count as drops) so that the id is still known inbound.
    RKV_WARN(kLog, "peer %" PRIu64 ": address %s is not a numeric address", peer.id,
             peer.address.to_string().c_str());
  }
  const core::NodeId id = peer.id;
  peers.emplace(id, std::make_unique<Outbound>(loop, self_id, std::move(peer), options, &handles,
                                               [this](Outbound* o) { request_flush(o); }));
}

void Transport::Impl::request_flush(Outbound* peer) {
  if (closing) return;
  if (dirty.empty()) uv_prepare_start(&flush_hook, prepare_cb);
  // A peer may be listed twice; a second flush() is a cheap no-op.
  dirty.push_back(peer);
}

void Transport::Impl::run_flushes() {
  uv_prepare_stop(&flush_hook);  // an active prepare handle keeps the loop alive
  std::vector<Outbound*> batch = std::move(dirty);
  dirty.clear();
  for (Outbound* peer : batch) peer->flush();
}

std::size_t Transport::Impl::unidentified_connections() const {
  std::size_t count = 0;
  for (const Inbound* connection : inbound) count += connection->identified() ? 0 : 1;
  return count;
}

void Transport::Impl::accept_one() {
  Inbound* connection =
      Inbound::accept(loop, reinterpret_cast<uv_stream_t*>(listener), this,
                      {options.max_frame_bytes, options.handshake_timeout_ms}, &handles);
  if (connection == nullptr) return;
  if (unidentified_connections() >= kMaxUnidentified) {
    inbound.insert(connection);
    connection->reject("too many connections awaiting their handshake");
    return;
  }
  inbound.insert(connection);
  connection->start();
}

void Transport::Impl::on_identified(Inbound* connection) {
  // The peer keeps a single outbound connection: an older one from it is
  // abandoned (half-open after a crash, or being torn down). Close it now
  // rather than waiting for keepalive.
  std::vector<Inbound*> stale;
  for (Inbound* other : inbound) {
    if (other != connection && other->identified() && other->peer() == connection->peer()) {
      stale.push_back(other);
    }
  }
  for (Inbound* other : stale) {
    RKV_DEBUG(kLog, "closing older connection from peer %" PRIu64 " at %s", other->peer(),
              other->remote().c_str());
    other->close();
  }
}

void Transport::Impl::deliver(pb::Message&& message) {
  if (closing) return;
  if (auto it = peers.find(message.from()); it != peers.end()) it->second->count_received();
  on_message(std::move(message));
}

void Transport::Impl::connection_cb(uv_stream_t* server, int status) {
  auto* impl = static_cast<Impl*>(server->data);
  if (status < 0) {
    RKV_WARN(kLog, "accepting a peer connection failed: %s", uv_strerror(status));
    return;
  }
  impl->accept_one();
}

void Transport::Impl::listener_closed_cb(uv_handle_t* handle) {
  HandleTracker* tracker = &static_cast<Impl*>(handle->data)->handles;
  delete reinterpret_cast<uv_tcp_t*>(handle);
  tracker->closed();
}

void Transport::Impl::prepare_cb(uv_prepare_t* prepare) {
  static_cast<Impl*>(prepare->data)->run_flushes();
}

void Transport::Impl::prepare_closed_cb(uv_handle_t* handle) {
  static_cast<Impl*>(handle->data)->handles.closed();
}

// --- Transport ----------------------------------------------------------------

Transport::Transport(uv_loop_t* loop, core::NodeId self, std::vector<Peer> peers,
                     TransportOptions options, MessageHandler on_message)
    : impl_(std::make_unique<Impl>(loop, self, std::move(options), std::move(on_message))) {
  uv_prepare_init(loop, &impl_->flush_hook);
  impl_->flush_hook.data = impl_.get();
  impl_->handles.opened();
  for (Peer& peer : peers) impl_->add_peer(std::move(peer));
}

Transport::~Transport() {
  if (impl_->handles.live() != 0) {
    // Freeing now would leave libuv with dangling handles.
    RKV_ERROR(kLog, "Transport destroyed before close() completed");
    std::abort();
  }
}

int Transport::listen(const util::Address& address) {
  Impl& impl = *impl_;
  if (impl.closing) return UV_EINVAL;
  if (impl.listener != nullptr) return UV_EALREADY;
  sockaddr_storage storage;
  if (!util::to_sockaddr(address, &storage)) return UV_EINVAL;
  auto* listener = new uv_tcp_t;
  if (const int status = uv_tcp_init(impl.loop, listener); status < 0) {
    delete listener;
    return status;
  }
  listener->data = &impl;
  impl.handles.opened();
  int status = uv_tcp_bind(listener, reinterpret_cast<const sockaddr*>(&storage), 0);
  if (status == 0) {
    status =
        uv_listen(reinterpret_cast<uv_stream_t*>(listener), kListenBacklog, Impl::connection_cb);
  }
  if (status < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener), Impl::listener_closed_cb);
    return status;
  }
  impl.listener = listener;
  RKV_INFO(kLog, "member %" PRIu64 " listening for peers on %s", impl.self_id,
           address.to_string().c_str());
  return 0;
}

bool Transport::send(pb::Message message) {
  Impl& impl = *impl_;
  const auto it = impl.peers.find(message.to());
  if (it == impl.peers.end()) {
    ++impl.unroutable;
    return false;
  }
  message.set_from(impl.self_id);
  return it->second->enqueue(message);  // refuses once closed
}

void Transport::close(std::function<void()> done) {
  Impl& impl = *impl_;
  // Register first: the handles below close asynchronously, so `done` can
  // only run from a later close callback.
  impl.handles.when_all_closed(std::move(done));
  if (impl.closing) return;
  impl.closing = true;
  impl.dirty.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&impl.flush_hook), Impl::prepare_closed_cb);
  if (impl.listener != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(std::exchange(impl.listener, nullptr)),
             Impl::listener_closed_cb);
  }
  for (auto& [id, peer] : impl.peers) peer->close();
  // close() removes each connection from the set: iterate over a copy.
  const std::vector<Inbound*> connections(impl.inbound.begin(), impl.inbound.end());
  for (Inbound* connection : connections) connection->close();
}

PeerMetrics Transport::peer_metrics(core::NodeId id) const {
  const auto it = impl_->peers.find(id);
  return it == impl_->peers.end() ? PeerMetrics{} : it->second->metrics();
}

std::uint64_t Transport::rejected_connections() const {
  return impl_->rejected;
}

std::uint64_t Transport::unroutable_messages() const {
  return impl_->unroutable;
}

}  // namespace raftkv::transport
