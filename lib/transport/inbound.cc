#include "transport/inbound.h"

#include <netinet/in.h>

#include <cinttypes>
#include <string>

#include "transport/handshake.h"
#include "transport/peer_auth.h"
#include "util/address.h"
#include "util/log.h"

namespace raftkv::transport {
namespace {

constexpr const char* kLog = "transport";
constexpr unsigned kKeepaliveDelaySeconds = 10;

std::string remote_address(const uv_tcp_t* tcp) {
  sockaddr_storage storage{};
  int length = sizeof storage;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return "?";
  char host[64] = {};
  std::uint16_t port = 0;
  if (storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
    uv_ip4_name(v4, host, sizeof host);
    port = ntohs(v4->sin_port);
  } else if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    uv_ip6_name(v6, host, sizeof host);
    port = ntohs(v6->sin6_port);
  }
  return util::Address{host, port}.to_string();
}

// One frame written by an accepted connection (AuthChallenge, AuthAck),
// owned until its write callback.
struct FrameWrite {
  uv_write_t request;
  std::string frame;
};

}  // namespace

Inbound::Inbound(InboundHost* host, Limits limits, HandleTracker* handles)
    : host_(host), limits_(limits), handles_(handles), decoder_(limits.max_frame_bytes) {}

Inbound* Inbound::accept(uv_loop_t* loop, uv_stream_t* server, InboundHost* host, Limits limits,
                         HandleTracker* handles) {
  auto* connection = new Inbound(host, limits, handles);
  if (uv_tcp_init(loop, &connection->tcp_) < 0) {
    delete connection;
    return nullptr;
  }
  connection->tcp_.data = connection;
  ++connection->open_handles_;
  handles->opened();
  uv_timer_init(loop, &connection->timer_);
  connection->timer_.data = connection;
  ++connection->open_handles_;
  handles->opened();
  if (const int status = uv_accept(server, reinterpret_cast<uv_stream_t*>(&connection->tcp_));
      status < 0) {
    RKV_DEBUG(kLog, "accept failed: %s", uv_strerror(status));
    connection->close();
    return nullptr;
  }
  return connection;
}

void Inbound::start() {
  remote_ = remote_address(&tcp_);
  uv_tcp_nodelay(&tcp_, 1);
  uv_tcp_keepalive(&tcp_, 1, kKeepaliveDelaySeconds);
  uv_timer_start(&timer_, timer_cb, limits_.handshake_timeout_ms, 0);
  if (const int status = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), alloc_cb, read_cb);
      status < 0) {
    RKV_DEBUG(kLog, "connection from %s: read failed: %s", remote_.c_str(), uv_strerror(status));
    close();
    return;
  }
  // The caller waits for this before it sends its handshake.
  if (!limits_.secret.empty()) {
    nonce_ = make_auth_nonce();
    write_frame(make_auth_challenge(nonce_));
  }
}

void Inbound::write_frame(const google::protobuf::MessageLite& message) {
  auto* write = new FrameWrite;
  append_frame(message, limits_.max_frame_bytes, &write->frame);
  write->request.data = write;
  uv_buf_t buf = uv_buf_init(write->frame.data(), static_cast<unsigned>(write->frame.size()));
  if (const int status =
          uv_write(&write->request, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, written_cb);
      status < 0) {
    delete write;  // no callback will come
    RKV_DEBUG(kLog, "connection from %s: write failed: %s", remote_.c_str(), uv_strerror(status));
    close();
  }
}

void Inbound::on_read(ssize_t nread) {
  if (nread > 0) {
    decoder_.commit(static_cast<std::size_t>(nread));
    process_frames();
    return;
  }
  if (nread == 0) return;  // EAGAIN
  // EOF or reset: routine when a peer restarts or redials.
  RKV_DEBUG(kLog, "connection from %s (peer %s) closed: %s", remote_.c_str(),
            identified() ? std::to_string(peer_).c_str() : "unidentified",
            uv_strerror(static_cast<int>(nread)));
  close();
}

void Inbound::process_frames() {
  // deliver() may close this connection (or the whole transport): re-check
  // closing_ after every frame. The object stays valid until the close
  // callbacks, which run later in the loop.
  while (!closing_) {
    std::string_view payload;
    switch (decoder_.next(&payload)) {
      case FrameDecoder::Status::kNeedMore:
        return;
      case FrameDecoder::Status::kError:
        reject(decoder_.oversized() ? PeerRejection::kOversizedFrame : PeerRejection::kBadFrame,
               decoder_.error());
        return;
      case FrameDecoder::Status::kFrame:
        if (identified()) {
          on_message(payload);
        } else {
          on_handshake(payload);
        }
        break;
    }
  }
}

void Inbound::on_handshake(std::string_view payload) {
  const bool with_secret = !limits_.secret.empty();
  const HandshakeAuth auth{limits_.secret, nonce_};
  pb::Handshake handshake;
  const HandshakeCheck check = check_handshake(
      payload, host_->self(), [this](core::NodeId id) { return host_->is_peer(id); },
      with_secret ? &auth : nullptr, &handshake);
  if (!check.ok) {
    refuse_handshake(check);
    return;
  }
  peer_ = check.from;
  claimed_address_ = check.address;
  uv_timer_stop(&timer_);
  if (with_secret) {
    pb::AuthAck ack;
    ack.set_auth(ack_proof(limits_.secret, nonce_, handshake));
    write_frame(ack);
  }
  RKV_DEBUG(kLog, "accepted connection from peer %" PRIu64 " at %s", peer_, remote_.c_str());
  host_->on_identified(this);
}

void Inbound::refuse_handshake(const HandshakeCheck& check) {
  const bool auth = check.rejection == PeerRejection::kAuthMissing ||
                    check.rejection == PeerRejection::kAuthFailed;
  if (check.from != core::kNoNode && host_->was_removed(check.from)) {
    reject_quietly(PeerRejection::kRemovedMember, check.reason);
  } else if (auth && limits_.auth_warnings != nullptr &&
             !limits_.auth_warnings->allow(uv_now(tcp_.loop))) {
    // Counted all the same; a peer with another secret redials every
    // backoff_max_ms, and one WARN line per window says enough.
    RKV_DEBUG(kLog, "closing connection from %s: %s", remote_.c_str(), check.reason.c_str());
    host_->on_rejected(check.rejection);
    close();
  } else {
    reject(check.rejection, check.reason);
  }
}

void Inbound::on_message(std::string_view payload) {
  pb::Message message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    reject(PeerRejection::kUndecodable, "undecodable message");
    return;
  }
  if (message.from() != peer_ || message.to() != host_->self()) {
    reject(PeerRejection::kFromToMismatch, "message from " + std::to_string(message.from()) +
                                               " to " + std::to_string(message.to()) +
                                               " on this connection");
    return;
  }
  host_->deliver(std::move(message));
}

void Inbound::reject(PeerRejection reason, std::string_view why) {
  if (closing_) return;
  const std::string who =
      identified() ? "peer " + std::to_string(peer_) + " at " + remote_ : remote_;
  RKV_WARN(kLog, "closing connection from %s: %.*s", who.c_str(), static_cast<int>(why.size()),
           why.data());
  host_->on_rejected(reason);
  close();
}

void Inbound::reject_quietly(PeerRejection reason, std::string_view why) {
  if (closing_) return;
  RKV_DEBUG(kLog, "closing connection from %s: %.*s (a removed member)", remote_.c_str(),
            static_cast<int>(why.size()), why.data());
  host_->on_rejected(reason);
  close();
}

void Inbound::close() {
  if (closing_) return;
  closing_ = true;
  host_->on_closing(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), closed_cb);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), closed_cb);
}

// --- libuv callbacks ----------------------------------------------------------

void Inbound::alloc_cb(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) {
  const std::span<char> space = static_cast<Inbound*>(handle->data)->decoder_.read_space();
  *buf = uv_buf_init(space.data(), static_cast<unsigned>(space.size()));
}

void Inbound::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* /*buf*/) {
  static_cast<Inbound*>(stream->data)->on_read(nread);
}

void Inbound::timer_cb(uv_timer_t* timer) {
  auto* connection = static_cast<Inbound*>(timer->data);
  connection->reject(
      PeerRejection::kHandshakeTimeout,
      "no handshake within " + std::to_string(connection->limits_.handshake_timeout_ms) + " ms");
}

void Inbound::written_cb(uv_write_t* request, int /*status*/) {
  // A failed write needs no action here: the read side sees the same error.
  delete static_cast<FrameWrite*>(request->data);
}

void Inbound::closed_cb(uv_handle_t* handle) {
  auto* connection = static_cast<Inbound*>(handle->data);
  HandleTracker* handles = connection->handles_;
  if (--connection->open_handles_ == 0) delete connection;
  handles->closed();  // may complete Transport::close(): touch nothing after
}

}  // namespace raftkv::transport
