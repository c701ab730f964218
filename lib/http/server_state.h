// Internal: what a Server shares with its connections. Connections and the
// listener hold it by shared_ptr so that destroying the Server never leaves
// a libuv callback with a dangling pointer; it is freed with the last handle.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/handler.h"
#include "http/limits.h"
#include "http/metrics.h"

namespace raftkv::http {

class Connection;

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(uv_loop_t* loop_in, const Limits& limits_in, Handler handler_in);

  // A client is waiting on the listening socket.
  void accept(uv_stream_t* listener);
  // Called from the connection's last close callback; frees it.
  void on_connection_closed(Connection* connection);
  // Runs the close() callbacks once the listener and all connections are gone.
  void maybe_finish_close();

  uv_loop_t* const loop;
  const Limits limits;
  const Handler handler;
  ServerMetrics metrics;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections;
  uv_tcp_t* listener = nullptr;  // owned by its close callback once closing
  bool closing = false;
  std::vector<std::function<void()>> close_callbacks;
  // libuv reads into this and the read callback consumes it before the next
  // read, so one buffer serves every connection of the (single) loop thread.
  std::vector<char> read_buffer;

 private:
  void reject(uv_stream_t* listener_stream);
};

}  // namespace raftkv::http
