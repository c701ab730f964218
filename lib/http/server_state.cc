#include "http/server_state.h"

#include <utility>

#include "http/connection.h"
#include "util/log.h"

namespace raftkv::http {

namespace {
constexpr std::size_t kReadBufferBytes = 64 * 1024;
}  // namespace

ServerState::ServerState(uv_loop_t* loop_in, const Limits& limits_in, Handler handler_in)
    : loop(loop_in),
      limits(limits_in),
      handler(std::move(handler_in)),
      read_buffer(kReadBufferBytes) {}

void ServerState::accept(uv_stream_t* listener_stream) {
  if (closing || connections.size() >= limits.max_connections) {
    reject(listener_stream);
    return;
  }
  auto connection = std::make_shared<Connection>(shared_from_this());
  connections.emplace(connection.get(), connection);
  ++metrics.connections_accepted;
  metrics.connections_open = connections.size();
  connection->start(listener_stream);
}

// Over the limit: accept and close at once, the cheapest answer under
// overload (no parser, no timer, no response to flush). Clients see the
// connection closed (or reset if they had already sent a request).
void ServerState::reject(uv_stream_t* listener_stream) {
  // While closing, refusing is not about the client: not counted.
  if (!closing) metrics.rejected.add(Rejection::kConnectionLimit);
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(loop, tcp);
  if (uv_accept(listener_stream, reinterpret_cast<uv_stream_t*>(tcp)) == 0) {
    RKV_DEBUG("http", "connection limit (%zu) reached: closing a new connection",
              limits.max_connections);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(tcp),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
}

void ServerState::on_connection_closed(Connection* connection) {
  connections.erase(connection);
  metrics.connections_open = connections.size();
  maybe_finish_close();
}

void ServerState::maybe_finish_close() {
  if (!closing || listener != nullptr || !connections.empty()) return;
  auto callbacks = std::move(close_callbacks);
  close_callbacks.clear();
  for (auto& callback : callbacks) {
    if (callback) callback();
  }
}

}  // namespace raftkv::http
