#include "http/responder.h"

#include <utility>

#include "http/connection.h"
#include "util/log.h"

namespace raftkv::http {

Responder::Responder(std::weak_ptr<Connection> connection, std::uint64_t request_id)
    : connection_(std::move(connection)), request_id_(request_id) {}

Responder::Responder(const Responder& other)
    : connection_(other.connection_), request_id_(other.request_id_) {
  hold();
}

// A move hands the count over: the source is left detached.
Responder::Responder(Responder&& other) noexcept
    : connection_(std::move(other.connection_)), request_id_(other.request_id_) {
  other.connection_.reset();
}

Responder& Responder::operator=(const Responder& other) {
  if (this == &other) return *this;
  let_go();
  connection_ = other.connection_;
  request_id_ = other.request_id_;
  hold();
  return *this;
}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this == &other) return *this;
  let_go();
  connection_ = std::move(other.connection_);
  request_id_ = other.request_id_;
  other.connection_.reset();
  return *this;
}

void Responder::hold() const {
  if (const auto c = connection_.lock()) c->hold_responder(request_id_);
}

void Responder::let_go() noexcept {
  if (connection_.expired()) return;
  try {
    if (const auto c = connection_.lock()) c->let_go_responder(request_id_);
  } catch (...) {
    RKV_ERROR("http", "failed to answer an abandoned request");
  }
  connection_.reset();
}

void Responder::send(Response response) const {
  const auto c = connection_.lock();
  connection_.reset();
  if (c) c->respond(request_id_, std::move(response));
}

bool Responder::connection_alive() const {
  const auto c = connection_.lock();
  return c && c->awaiting(request_id_);
}

}  // namespace raftkv::http
