#include "status.h"

#include <cctype>

#include "http_client.h"

namespace raftkv::bench {

namespace {

void skip_space(std::string_view text, std::size_t* pos) {
  while (*pos < text.size() && std::isspace(static_cast<unsigned char>(text[*pos]))) ++*pos;
}

// The position just after `"name":` (and any spaces), or npos.
std::size_t value_of(std::string_view text, std::string_view name) {
  // Look for name, then check the quotes around it (GCC 12 warns falsely
  // about building the quoted string with operator+).
  std::size_t pos = 0;
  while (true) {
    pos = text.find(name, pos);
    if (pos == std::string_view::npos) return pos;
    const std::size_t end = pos + name.size();
    if (pos > 0 && text[pos - 1] == '"' && end < text.size() && text[end] == '"') {
      pos = end + 1;
      break;
    }
    pos = end;
  }
  skip_space(text, &pos);
  if (pos >= text.size() || text[pos] != ':') return std::string_view::npos;
  ++pos;
  skip_space(text, &pos);
  return pos;
}

std::optional<std::uint64_t> number_at(std::string_view text, std::size_t pos) {
  if (pos == std::string_view::npos) return std::nullopt;
  std::size_t end = pos;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  if (end == pos) return std::nullopt;
  return std::stoull(std::string(text.substr(pos, end - pos)));
}

std::optional<std::string> string_at(std::string_view text, std::size_t pos) {
  if (pos == std::string_view::npos || pos >= text.size() || text[pos] != '"') return std::nullopt;
  const std::size_t end = text.find('"', pos + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(text.substr(pos + 1, end - pos - 1));
}

}  // namespace

std::optional<util::Address> leader_from_status(std::string_view body, std::string* error) {
  const auto leader = number_at(body, value_of(body, "leader"));
  if (!leader) {
    *error = "no leader known";
    return std::nullopt;
  }
  std::size_t pos = value_of(body, "members");
  if (pos == std::string_view::npos || body[pos] != '[') {
    *error = "/status has no members list";
    return std::nullopt;
  }
  // Member objects are flat, so each runs from '{' to the next '}'.
  while ((pos = body.find('{', pos)) != std::string_view::npos) {
    const std::size_t end = body.find('}', pos);
    if (end == std::string_view::npos) break;
    const std::string_view member = body.substr(pos, end - pos + 1);
    if (number_at(member, value_of(member, "id")) == leader) {
      const auto http = string_at(member, value_of(member, "http"));
      auto address = http ? util::parse_address(*http) : std::nullopt;
      if (address) return address;
      *error = "leader " + std::to_string(*leader) + " has no usable HTTP address";
      return std::nullopt;
    }
    pos = end;
  }
  *error = "leader " + std::to_string(*leader) + " is not in the members list";
  return std::nullopt;
}

namespace {

// Drives one request on a connection of its own and a timer for the deadline.
class Fetcher final : public ConnectionListener {
 public:
  Fetcher(uv_loop_t* loop, const sockaddr_storage& address, const Endpoint& endpoint,
          std::string_view path)
      : loop_(loop), connection_(loop, address, 1, this) {
    request_ =
        "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + endpoint.host_header() + "\r\n\r\n";
    connection_.set_capture_body(true);
  }

  FetchResult run(std::uint64_t timeout_ms) {
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    uv_timer_start(
        &timer_,
        [](uv_timer_t* t) {
          auto* self = static_cast<Fetcher*>(t->data);
          self->result_.error = "timed out";
          self->done_ = true;
        },
        timeout_ms, 0);
    connection_.connect();
    while (!done_) uv_run(loop_, UV_RUN_ONCE);
    pending_ = 1;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
             [](uv_handle_t* h) { --static_cast<Fetcher*>(h->data)->pending_; });
    connection_.close();
    if (connection_.state() != Connection::State::kIdle) ++pending_;
    closing_ = true;
    while (pending_ > 0) uv_run(loop_, UV_RUN_ONCE);
    return result_;
  }

  void on_connected(Connection& connection) override {
    connection.next_buffer() = request_;
    connection.send();
  }
  void on_response(Connection&, int status, const RequestInfo&, std::string_view body) override {
    result_.status = status;
    result_.body = std::string(body);
    done_ = true;
  }
  void on_broken(Connection& connection, Failure, std::size_t) override {
    result_.error = connection.last_error();
    done_ = true;
  }
  void on_closed(Connection&) override {
    if (closing_) --pending_;
  }

 private:
  uv_loop_t* loop_;
  Connection connection_;
  uv_timer_t timer_{};
  std::string request_;
  FetchResult result_;
  bool done_ = false;
  bool closing_ = false;
  int pending_ = 0;
};

void wait_ms(uv_loop_t* loop, std::uint64_t ms) {
  uv_timer_t timer;
  bool fired = false;
  uv_timer_init(loop, &timer);
  timer.data = &fired;
  uv_timer_start(
      &timer, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, ms, 0);
  while (!fired) uv_run(loop, UV_RUN_ONCE);
  bool closed = false;
  timer.data = &closed;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer),
           [](uv_handle_t* h) { *static_cast<bool*>(h->data) = true; });
  while (!closed) uv_run(loop, UV_RUN_ONCE);
}

}  // namespace

FetchResult http_get(uv_loop_t* loop, const Endpoint& endpoint, std::string_view path,
                     std::uint64_t timeout_ms) {
  sockaddr_storage address;
  if (!util::to_sockaddr(endpoint.address, &address)) return {0, "", "bad address"};
  Fetcher fetcher(loop, address, endpoint, path);
  return fetcher.run(timeout_ms);
}

std::optional<Endpoint> find_leader(uv_loop_t* loop, const std::vector<Endpoint>& endpoints,
                                    std::uint64_t deadline_ms, std::string* error) {
  const std::uint64_t deadline = uv_hrtime() + deadline_ms * 1'000'000;
  while (true) {
    for (const Endpoint& endpoint : endpoints) {
      const std::uint64_t now = uv_hrtime();
      if (now >= deadline) return std::nullopt;
      const FetchResult fetched =
          http_get(loop, endpoint, "/status", (deadline - now) / 1'000'000 + 1);
      std::string why;
      if (fetched.status == 200) {
        if (auto leader = leader_from_status(fetched.body, &why)) {
          Endpoint out = endpoint;
          out.address = *leader;
          return out;
        }
      } else {
        why = fetched.status == 0 ? fetched.error : "HTTP " + std::to_string(fetched.status);
      }
      *error = endpoint.host_header() + "/status: " + why;
    }
    if (uv_hrtime() + 200'000'000 >= deadline) return std::nullopt;
    wait_ms(loop, 200);  // an election may be under way
  }
}

}  // namespace raftkv::bench
