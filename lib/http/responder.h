// The handle a handler answers one request through.
#pragma once

#include <cstdint>
#include <memory>

#include "http/response.h"

namespace raftkv::http {

class Connection;

// A cheap, copyable handle to one pending request. The handler may answer
// at once or keep it (copies share one answer) while Raft works and call
// send() later from the loop thread. It never keeps the connection alive:
// it holds a weak reference plus the request's sequence number, so send()
// after the client went away, after the server closed, or for a request
// already answered is a safe no-op.
//
// If every copy is destroyed without send() (a handler bug), the request is
// answered 500 so that the connection, which handles one request at a time,
// does not hang.
//
// No allocation per request: the copies are counted by the connection (it
// has one request in hand at a time), and "answered" is the connection no
// longer awaiting this request_id, where a shared ticket was allocated for
// every request.
class Responder {
 public:
  Responder() = default;  // detached: send() does nothing
  Responder(const Responder& other);
  Responder(Responder&& other) noexcept;
  Responder& operator=(const Responder& other);
  Responder& operator=(Responder&& other) noexcept;
  // Inline: most Responders die moved-from (a request's handle is moved
  // along the handler's calls), and those have nothing to let go of.
  ~Responder() {
    if (!connection_.expired()) let_go();
  }

  // Queues the response on the connection; at most once per request (later
  // calls do nothing). Must run on the loop thread. Never calls the handler
  // re-entrantly: the connection's next pipelined request is dispatched
  // from a later loop callback. (send() is const so that lambdas can call
  // it on a captured copy.)
  void send(Response response) const;

  // Whether the request still awaits its answer on an open connection. A
  // handler may use it to skip work for clients that have gone away; a
  // client that merely half-closed still counts as alive.
  bool connection_alive() const;

 private:
  friend class Connection;
  // Counted as the first copy (Connection::dispatch).
  Responder(std::weak_ptr<Connection> connection, std::uint64_t request_id);
  // Counts this copy on the connection, if its request is still in hand.
  void hold() const;
  // Uncounts it; the last copy of an unanswered request answers 500.
  void let_go() noexcept;

  // Empty: detached. Mutable: send() (const, see above) detaches this copy,
  // whose request is then answered, so that its destructor has nothing to do.
  mutable std::weak_ptr<Connection> connection_;
  std::uint64_t request_id_ = 0;
};

}  // namespace raftkv::http
