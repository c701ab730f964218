// raftkv's HTTP/1.1 server: libuv for I/O, llhttp for parsing, everything
// on the loop thread (no threads, no locks).
//
// Requests go to one Handler, one at a time per connection; pipelined
// requests are answered in order. Keep-alive is the HTTP/1.1 default;
// HTTP/1.0 connections close unless the client asks for keep-alive. The
// Limits are enforced before the handler sees a request (see limits.h and
// docs/http-server.md for what each violation answers).
//
// Usage:
//   http::Server server(loop, http::Limits{}, [](http::Request&& request,
//                                                http::Responder responder) {
//     responder.send(http::error_response(404, "no such path"));
//   });
//   if (int rc = server.listen(address); rc != 0) ... uv_strerror(rc) ...
//   ...
//   server.close([] { /* every connection is closed */ });
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "http/handler.h"
#include "http/limits.h"
#include "http/metrics.h"
#include "util/address.h"

namespace raftkv::http {

struct ServerState;

class Server {
 public:
  Server(uv_loop_t* loop, Limits limits, Handler handler);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Destroying a Server closes its listener and connections at once
  // (pending requests are not answered; their Responders become no-ops).
  // Memory still referenced by libuv is freed by the close callbacks, so the
  // loop must run a little longer, but nothing dangles. Prefer close().
  ~Server();

  // Binds and listens (backlog 511; SO_REUSEADDR as libuv sets it). Port 0
  // picks a free port, see port(). Returns 0 or a libuv error code
  // (UV_EADDRINUSE, UV_EACCES, UV_EINVAL for a non-numeric host or when
  // already listening).
  int listen(const util::Address& address);

  // The bound port, or 0 when not listening.
  std::uint16_t port() const;

  // Stops accepting, closes idle connections, lets each pending request be
  // answered (with "Connection: close") for up to Limits::close_grace_ms,
  // then closes. `done` runs on the loop once the listener and every
  // connection are closed; synchronously if nothing was open. Calling it
  // again adds another callback.
  void close(std::function<void()> done);

  const ServerMetrics& metrics() const;

 private:
  std::shared_ptr<ServerState> state_;
};

}  // namespace raftkv::http
