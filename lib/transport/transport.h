// Peer transport: TCP between cluster members carrying length-prefixed
// pb::Message frames (wire format: docs/peer-protocol.md).
//
// Connections. Each member opens exactly one outbound connection to every
// peer and uses it only to send; what a peer sends us arrives on the
// connection *it* opened to us and we accepted. Outbound connections are
// opened on the first send() to a peer and then kept up for the transport's
// life, reconnecting with exponential backoff: backoff_min_ms doubling up to
// backoff_max_ms, reset when a connection whose handshake was written fails
// after having stayed up at least backoff_max_ms (a peer that drops us at
// once is not redialled at the minimum). The cap stays well below an
// election timeout so a healed link never costs an election
// (hashicorp/raft#494).
//
// Queues. Per peer, queued bytes = frames waiting in our queue + frames handed
// to libuv whose write has not completed. send() refuses (and counts a drop)
// when a message would take that over its bound; Raft retransmits, so
// dropping is always safe while buffering without bound is not. Frames are
// handed to libuv only while its write queue for the socket is below
// socket_backlog_bytes, control lane first (see priority.h), several frames
// per uv_write. While a peer is unreachable its queue is capped at
// disconnected_queue_bytes, and everything queued is dropped whenever a
// connection or connection attempt fails: after a failure the messages are
// stale and Raft will send fresher ones, so holding them only costs memory.
//
// Membership. The peer list can change at runtime (set_peers()). Accepted
// connections are only from peers: a handshake from any other id is refused,
// and a removed peer's connections are closed. The one exception is a
// joining member (accept_unknown_peers): it does not know the cluster's
// members yet, so it accepts any caller and learns the caller's address
// from its handshake, so that it can answer (docs/peer-protocol.md,
// "Membership changes").
//
// Threading. None: every function must be called on the loop's thread and
// every callback runs there. No call blocks.
//
// Lifetime. The constructor initialises libuv handles on `loop`, so a
// Transport must be closed with close() and may be destroyed only after
// close()'s callback ran (typically: close(), keep running the loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <uv.h>

#include "core/shared_entry.h"
#include "core/types.h"
#include "raft.pb.h"
#include "transport/peer_rejection.h"
#include "util/address.h"

namespace raftkv::transport {

struct Peer {
  core::NodeId id = core::kNoNode;
  util::Address address;
};

struct TransportOptions {
  // A received length prefix of 0 or above this is a protocol error: the
  // connection is closed. send() refuses messages above it.
  std::size_t max_frame_bytes = 64 << 20;
  // Per peer: our queue plus libuv's write queue for the connection.
  std::size_t max_queue_bytes = 32 << 20;
  // Per peer while not connected (connecting or backing off); at most
  // max_queue_bytes. Enough for the first votes and appends sent while a
  // connection is being established, small enough not to hoard stale data
  // for a dead peer.
  std::size_t disconnected_queue_bytes = 1 << 20;
  // Frames are handed to uv_write only while libuv's write queue for the
  // socket holds less than this; the rest waits in our two-lane queue where
  // control messages can still overtake it.
  std::size_t socket_backlog_bytes = 1 << 20;
  // Reconnect delay: starts at min, doubles per failure, capped at max
  // (well below an election timeout).
  std::uint64_t backoff_min_ms = 10;
  std::uint64_t backoff_max_ms = 200;
  // A connect() that has not completed by then is abandoned and retried
  // (a blackholed SYN would otherwise block the peer for minutes).
  std::uint64_t connect_timeout_ms = 1000;
  // An accepted connection must deliver a valid handshake within this.
  std::uint64_t handshake_timeout_ms = 5000;
  // A joining member: accept a handshake from any member id (not self) and,
  // for an id that is not a peer, add it as a peer at the address its
  // handshake claims. Off for every member that knows its configuration.
  bool accept_unknown_peers = false;
  // Shared cluster secret (the bytes of --cluster-secret-file); empty:
  // none. With one, every connection is authenticated both ways before any
  // message goes over it (peer_auth.h), and a peer without it, or with
  // another, is refused. Members of a cluster must agree on it.
  std::string cluster_secret;
};

struct PeerMetrics {
  bool connected = false;               // outbound connection established
  std::uint64_t sent_messages = 0;      // writes completed
  std::uint64_t sent_bytes = 0;         // frame bytes (headers included) of those
  std::uint64_t dropped_messages = 0;   // refused by send() or lost with a connection
  std::uint64_t queued_bytes = 0;       // our queue + bytes handed to libuv, not yet written
  std::uint64_t reconnects = 0;         // connection attempts after a failure
  std::uint64_t received_messages = 0;  // delivered to the handler, from this peer
};

class Transport {
 public:
  using MessageHandler = std::function<void(pb::Message&& message)>;

  // `peers` must not contain `self`. `on_message` receives every message
  // accepted from a peer (already checked: from() is the peer that
  // handshook, to() is self); it may call send() and close().
  Transport(uv_loop_t* loop, core::NodeId self, std::vector<Peer> peers, TransportOptions options,
            MessageHandler on_message);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Starts accepting peer connections on `address`. Returns 0 or a libuv
  // error (UV_EADDRINUSE, UV_EINVAL for a non-numeric host, UV_EALREADY if
  // already listening).
  int listen(const util::Address& address);

  // Queues `message` for peer message.to(); message.from() is set to self.
  // Returns false, counting a drop, if the peer is unknown (see
  // unroutable_messages()), the message exceeds max_frame_bytes, the
  // transport is closing, or the peer's queue would exceed its bound.
  // Never blocks; never buffers without bound. `entries` (only for an
  // AppendEntries) go on the wire after the message's own entries, written
  // straight from the shared entries (core/out_message.h); the frame limit
  // counts them.
  bool send(pb::Message message, std::span<const core::SharedEntry> entries = {});

  // Hands what send() queued to the sockets now instead of at the start of
  // the next loop iteration. A driver that sends a batch of messages (one
  // Raft Ready) calls it after the batch: the batch still shares one write
  // per peer, and leaves before the loop polls again.
  void flush();

  // Closes the listener, every connection in whatever state (connecting,
  // handshaking, open, backing off) and every timer; `done` runs once the
  // close callback of every handle has run. Later send()s are refused.
  // Calling close() again only adds another `done`.
  void close(std::function<void()> done);

  // Zeroes for an id that is not a peer.
  PeerMetrics peer_metrics(core::NodeId id) const;
  // Accepted connections closed for a protocol violation: garbage, bad or
  // missing handshake, unknown member, bad frame length, undecodable
  // message, a message not from the handshaken peer or not to us.
  std::uint64_t rejected_connections() const;
  // The same, by reason.
  const PeerRejectionCounts& rejections() const;
  // Messages passed to send() for an id that is not a peer.
  std::uint64_t unroutable_messages() const;
  // Messages queued or in flight to a peer when set_peers() removed it.
  std::uint64_t dropped_for_removed_peers() const;

  // Replaces the peer list (a membership change); ids are compared with the
  // current list:
  //  - a new id gets outbound state, connected on its first send() as at
  //    construction;
  //  - a removed id: its outbound connection is closed and its queue and
  //    writes in flight dropped (dropped_for_removed_peers()); connections
  //    it opened to us are closed; later handshakes from it are refused and
  //    sends to it are unroutable; its peer_metrics() read zero;
  //  - an id whose address changed: the connection is closed, its queue
  //    dropped, and the new address dialled at once (if it was in use);
  //  - the same id and address: untouched, connection and metrics kept.
  // `self` and repeated ids are ignored with a warning. No effect once
  // close() was called.
  void set_peers(std::vector<Peer> peers);

  // Turns TransportOptions::accept_unknown_peers on or off; a joining member
  // turns it off once it knows its configuration (after set_peers()).
  // Turning it off closes accepted connections from ids that are not peers.
  void accept_unknown_peers(bool accept);

  // The current peer ids, in increasing order.
  std::vector<core::NodeId> peer_ids() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raftkv::transport
