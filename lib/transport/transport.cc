#include "transport/transport.h"

#include <cinttypes>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "transport/handle_tracker.h"
#include "transport/inbound.h"
#include "transport/outbound.h"
#include "transport/peer_auth.h"
#include "transport/warn_limiter.h"
#include "util/log.h"

namespace raftkv::transport {
namespace {

constexpr const char* kLog = "transport";
constexpr int kListenBacklog = 128;
// Accepted connections still owing their handshake beyond this are refused
// at once: garbage clients cannot pile up sockets for handshake_timeout_ms.
constexpr std::size_t kMaxUnidentified = 64;
// Refused cluster-secret proofs: at most this many WARN lines per window.
constexpr std::uint64_t kAuthWarnWindowMs = 10'000;
constexpr unsigned kAuthWarnLines = 3;

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
  bool is_peer(core::NodeId id) const override {
    return peers.contains(id) || options.accept_unknown_peers;
  }
  bool was_removed(core::NodeId id) const override { return removed_ids.contains(id); }
  void on_identified(Inbound* connection) override;
  void on_rejected(PeerRejection reason) override { rejected.add(reason); }
  void on_closing(Inbound* connection) override { inbound.erase(connection); }
  void deliver(pb::Message&& message) override;

  void add_peer(Peer peer);
  void learn_peer(const Inbound& connection);
  void retire_peer(core::NodeId id);
  void on_released(Outbound* peer);
  void close_inbound_if(const std::function<bool(const Inbound&)>& condition);
  void accept_one();
  void request_flush(Outbound* peer);
  void run_flushes();
  std::size_t unidentified_connections() const;

  static void connection_cb(uv_stream_t* server, int status);
  static void listener_closed_cb(uv_handle_t* handle);
  static void idle_cb(uv_idle_t* idle);
  static void idle_closed_cb(uv_handle_t* handle);

  uv_loop_t* loop;
  core::NodeId self_id;
  TransportOptions options;
  MessageHandler on_message;
  HandleTracker handles;
  bool closing = false;

  // What our handshakes claim as our peer address: set by listen().
  std::string self_address;
  // All per-peer state, by id. Each Outbound references `options`,
  // `handles` and `self_address`, declared above.
  std::map<core::NodeId, std::unique_ptr<Outbound>> peers;
  // Removed peers whose handles are still closing (libuv callbacks still
  // refer to them), with their drop count when they were removed.
  struct Retired {
    std::unique_ptr<Outbound> peer;
    std::uint64_t dropped_before = 0;
  };
  std::unordered_map<Outbound*, Retired> retired;
  std::unordered_set<core::NodeId> removed_ids;  // removed and not added again
  std::unordered_set<Inbound*> inbound;          // each frees itself once closed
  uv_tcp_t* listener = nullptr;                  // heap: freed in its close callback

  // Flushes requested during a loop iteration run together at the start
  // of the next one, so that the messages sent to a peer in one iteration
  // share one uv_write. An idle handle, not a prepare one: an active idle
  // handle makes libuv poll without blocking, whereas a prepare handle
  // started from another prepare callback (the daemon handles Raft's
  // output in one) runs only after the next poll, which can block until
  // the next heartbeat tick (issue 7: every forwarded write and every
  // read round waited up to 50 ms for it).
  uv_idle_t flush_hook;
  std::vector<Outbound*> dirty;

  PeerRejectionCounts rejected;
  WarnLimiter auth_warnings{kAuthWarnWindowMs, kAuthWarnLines};
  std::uint64_t unroutable = 0;
  std::uint64_t removed_drops = 0;
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
  removed_ids.erase(id);
  Outbound::Hooks hooks{[this](Outbound* o) { request_flush(o); },
                        [this](Outbound* o) { on_released(o); }};
  peers.emplace(id, std::make_unique<Outbound>(loop, self_id, self_address, std::move(peer),
                                               options, &handles, std::move(hooks)));
}

// A joining member answers a caller it does not know yet at the address the
// caller's handshake claims (it cannot know better before it has a
// configuration; set_peers() later replaces this guess).
void Transport::Impl::learn_peer(const Inbound& connection) {
  if (!options.accept_unknown_peers || peers.contains(connection.peer())) return;
  const std::optional<util::Address> address = util::parse_address(connection.claimed_address());
  if (!address) {
    RKV_WARN(kLog, "peer %" PRIu64 " at %s claims no usable address (\"%s\"): cannot answer it",
             connection.peer(), connection.remote().c_str(), connection.claimed_address().c_str());
    return;
  }
  RKV_INFO(kLog, "learned peer %" PRIu64 " at %s from its handshake", connection.peer(),
           address->to_string().c_str());
  add_peer({connection.peer(), *address});
}

// The Outbound cannot be freed yet: its close callbacks (and cancelled
// writes) still refer to it. It is freed by on_released().
void Transport::Impl::retire_peer(core::NodeId id) {
  const auto it = peers.find(id);
  if (it == peers.end()) return;
  std::unique_ptr<Outbound> peer = std::move(it->second);
  peers.erase(it);
  std::erase(dirty, peer.get());
  const std::uint64_t dropped_before = peer->metrics().dropped_messages;
  Outbound* key = peer.get();
  retired.emplace(key, Retired{std::move(peer), dropped_before});
  removed_ids.insert(id);
  key->close();
  close_inbound_if([id](const Inbound& connection) { return connection.peer() == id; });
  RKV_INFO(kLog, "peer %" PRIu64 " removed", id);
}

void Transport::Impl::on_released(Outbound* peer) {
  const auto it = retired.find(peer);
  if (it == retired.end()) return;  // a current peer closing with the transport
  removed_drops += peer->metrics().dropped_messages - it->second.dropped_before;
  retired.erase(it);
}

void Transport::Impl::close_inbound_if(const std::function<bool(const Inbound&)>& condition) {
  // close() removes each connection from the set: collect first.
  std::vector<Inbound*> doomed;
  for (Inbound* connection : inbound) {
    if (connection->identified() && condition(*connection)) doomed.push_back(connection);
  }
  for (Inbound* connection : doomed) connection->close();
}

void Transport::Impl::request_flush(Outbound* peer) {
  if (closing) return;
  if (dirty.empty()) uv_idle_start(&flush_hook, idle_cb);
  // A peer may be listed twice; a second flush() is a cheap no-op.
  dirty.push_back(peer);
}

void Transport::Impl::run_flushes() {
  uv_idle_stop(&flush_hook);  // an active idle handle keeps the loop spinning
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
  Inbound* connection = Inbound::accept(loop, reinterpret_cast<uv_stream_t*>(listener), this,
                                        {options.max_frame_bytes, options.handshake_timeout_ms,
                                         options.cluster_secret, &auth_warnings},
                                        &handles);
  if (connection == nullptr) return;
  if (unidentified_connections() >= kMaxUnidentified) {
    inbound.insert(connection);
    connection->reject(PeerRejection::kConnectionLimit,
                       "too many connections awaiting their handshake");
    return;
  }
  inbound.insert(connection);
  connection->start();
}

void Transport::Impl::on_identified(Inbound* connection) {
  learn_peer(*connection);
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

void Transport::Impl::idle_cb(uv_idle_t* idle) {
  static_cast<Impl*>(idle->data)->run_flushes();
}

void Transport::Impl::idle_closed_cb(uv_handle_t* handle) {
  static_cast<Impl*>(handle->data)->handles.closed();
}

// --- Transport ----------------------------------------------------------------

Transport::Transport(uv_loop_t* loop, core::NodeId self, std::vector<Peer> peers,
                     TransportOptions options, MessageHandler on_message)
    : impl_(std::make_unique<Impl>(loop, self, std::move(options), std::move(on_message))) {
  uv_idle_init(loop, &impl_->flush_hook);
  impl_->flush_hook.data = impl_.get();
  impl_->handles.opened();
  if (!impl_->options.cluster_secret.empty() && !init_peer_auth()) {
    // No secure randomness, so no nonces: nothing safe to fall back to.
    RKV_ERROR(kLog, "cannot initialise libsodium for the cluster secret");
    std::abort();
  }
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
  impl.self_address = address.to_string();
  RKV_INFO(kLog, "member %" PRIu64 " listening for peers on %s", impl.self_id,
           address.to_string().c_str());
  return 0;
}

bool Transport::send(pb::Message message, std::span<const core::SharedEntry> entries) {
  Impl& impl = *impl_;
  const auto it = impl.peers.find(message.to());
  if (it == impl.peers.end()) {
    ++impl.unroutable;
    return false;
  }
  message.set_from(impl.self_id);
  return it->second->enqueue(message, entries);  // refuses once closed
}

void Transport::flush() {
  if (!impl_->closing) impl_->run_flushes();
}

void Transport::close(std::function<void()> done) {
  Impl& impl = *impl_;
  // Register first: the handles below close asynchronously, so `done` can
  // only run from a later close callback.
  impl.handles.when_all_closed(std::move(done));
  if (impl.closing) return;
  impl.closing = true;
  impl.dirty.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&impl.flush_hook), Impl::idle_closed_cb);
  if (impl.listener != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(std::exchange(impl.listener, nullptr)),
             Impl::listener_closed_cb);
  }
  for (auto& [id, peer] : impl.peers) peer->close();
  // close() removes each connection from the set: iterate over a copy.
  const std::vector<Inbound*> connections(impl.inbound.begin(), impl.inbound.end());
  for (Inbound* connection : connections) connection->close();
}

void Transport::set_peers(std::vector<Peer> peers) {
  Impl& impl = *impl_;
  if (impl.closing) return;
  std::map<core::NodeId, Peer> wanted;
  for (Peer& peer : peers) {
    if (peer.id == impl.self_id || wanted.contains(peer.id)) {
      RKV_WARN(kLog, "set_peers: ignoring peer %" PRIu64 ": duplicate or self", peer.id);
      continue;
    }
    const core::NodeId id = peer.id;
    wanted.emplace(id, std::move(peer));
  }
  std::vector<core::NodeId> removed;
  for (const auto& [id, outbound] : impl.peers) {
    if (!wanted.contains(id)) removed.push_back(id);
  }
  for (const core::NodeId id : removed) impl.retire_peer(id);
  for (auto& [id, peer] : wanted) {
    if (const auto it = impl.peers.find(id); it != impl.peers.end()) {
      it->second->set_address(std::move(peer.address));
    } else {
      RKV_INFO(kLog, "peer %" PRIu64 " added at %s", id, peer.address.to_string().c_str());
      impl.add_peer(std::move(peer));
    }
  }
}

void Transport::accept_unknown_peers(bool accept) {
  Impl& impl = *impl_;
  impl.options.accept_unknown_peers = accept;
  if (accept || impl.closing) return;
  impl.close_inbound_if(
      [&impl](const Inbound& connection) { return !impl.peers.contains(connection.peer()); });
}

std::vector<core::NodeId> Transport::peer_ids() const {
  std::vector<core::NodeId> ids;
  for (const auto& [id, peer] : impl_->peers) ids.push_back(id);
  return ids;
}

std::uint64_t Transport::dropped_for_removed_peers() const {
  return impl_->removed_drops;
}

PeerMetrics Transport::peer_metrics(core::NodeId id) const {
  const auto it = impl_->peers.find(id);
  return it == impl_->peers.end() ? PeerMetrics{} : it->second->metrics();
}

std::uint64_t Transport::rejected_connections() const {
  return impl_->rejected.total();
}

const PeerRejectionCounts& Transport::rejections() const {
  return impl_->rejected;
}

std::uint64_t Transport::unroutable_messages() const {
  return impl_->unroutable;
}

}  // namespace raftkv::transport
