#include "http/server.h"

#include <utility>
#include <vector>

#include "http/connection.h"
#include "http/server_state.h"
#include "util/log.h"

namespace raftkv::http {

namespace {

constexpr int kBacklog = 511;

// The listening handle keeps the shared state alive until it is closed.
struct Listener {
  uv_tcp_t tcp;
  std::shared_ptr<ServerState> state;
};

void on_connection(uv_stream_t* stream, int status) {
  auto* listener = static_cast<Listener*>(stream->data);
  if (status < 0) {
    RKV_WARN("http", "accept error: %s", uv_strerror(status));
    return;
  }
  listener->state->accept(stream);
}

void on_listener_closed(uv_handle_t* handle) {
  std::unique_ptr<Listener> listener(static_cast<Listener*>(handle->data));
  const std::shared_ptr<ServerState> state = listener->state;
  if (state->listener == &listener->tcp) state->listener = nullptr;
  listener.reset();
  state->maybe_finish_close();
}

void close_listener(uv_tcp_t* tcp) {
  auto* handle = reinterpret_cast<uv_handle_t*>(tcp);
  if (!uv_is_closing(handle)) uv_close(handle, &on_listener_closed);
}

}  // namespace

Server::Server(uv_loop_t* loop, Limits limits, Handler handler)
    : state_(std::make_shared<ServerState>(loop, limits, std::move(handler))) {}

Server::~Server() {
  state_->close_callbacks.clear();  // nobody is left to tell
  state_->closing = true;
  if (state_->listener != nullptr) close_listener(state_->listener);
  std::vector<Connection*> open;
  for (const auto& [connection, owner] : state_->connections) open.push_back(connection);
  for (Connection* connection : open) connection->close_now();
}

int Server::listen(const util::Address& address) {
  if (state_->listener != nullptr || state_->closing) return UV_EINVAL;
  sockaddr_storage storage{};
  if (!util::to_sockaddr(address, &storage)) return UV_EINVAL;
  auto listener = std::make_unique<Listener>();
  listener->state = state_;
  uv_tcp_init(state_->loop, &listener->tcp);
  listener->tcp.data = listener.get();
  int rc = uv_tcp_bind(&listener->tcp, reinterpret_cast<const sockaddr*>(&storage), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp), kBacklog, &on_connection);
  }
  uv_tcp_t* tcp = &listener.release()->tcp;  // from here on owned by its close callback
  if (rc != 0) {
    close_listener(tcp);
    return rc;
  }
  state_->listener = tcp;
  const util::Address bound{address.host, port()};
  RKV_INFO("http", "listening on %s", bound.to_string().c_str());
  return 0;
}

std::uint16_t Server::port() const {
  if (state_->listener == nullptr) return 0;
  sockaddr_storage storage{};
  int length = sizeof storage;
  if (uv_tcp_getsockname(state_->listener, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return 0;
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

void Server::close(std::function<void()> done) {
  state_->close_callbacks.push_back(std::move(done));
  if (!state_->closing) {
    state_->closing = true;
    if (state_->listener != nullptr) close_listener(state_->listener);
    std::vector<Connection*> open;
    for (const auto& [connection, owner] : state_->connections) open.push_back(connection);
    for (Connection* connection : open) connection->shutdown();
  }
  state_->maybe_finish_close();
}

const ServerMetrics& Server::metrics() const {
  return state_->metrics;
}

}  // namespace raftkv::http
