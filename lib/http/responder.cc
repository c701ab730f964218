#include "http/responder.h"

#include "http/connection.h"
#include "util/log.h"

namespace raftkv::http {

struct Responder::Ticket {
  std::weak_ptr<Connection> connection;
  std::uint64_t request_id = 0;
  bool answered = false;

  ~Ticket() {
    if (answered) return;
    try {
      if (const auto c = connection.lock()) c->abandon(request_id);
    } catch (...) {
      RKV_ERROR("http", "failed to answer an abandoned request");
    }
  }
};

Responder::Responder(std::weak_ptr<Connection> connection, std::uint64_t request_id)
    : ticket_(std::make_shared<Ticket>()) {
  ticket_->connection = std::move(connection);
  ticket_->request_id = request_id;
}

void Responder::send(Response response) const {
  if (!ticket_ || ticket_->answered) return;
  ticket_->answered = true;
  if (const auto c = ticket_->connection.lock())
    c->respond(ticket_->request_id, std::move(response));
}

bool Responder::connection_alive() const {
  if (!ticket_ || ticket_->answered) return false;
  const auto c = ticket_->connection.lock();
  return c && c->awaiting(ticket_->request_id);
}

}  // namespace raftkv::http
