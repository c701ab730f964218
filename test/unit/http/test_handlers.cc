#include "test_handlers.h"

#include <stdexcept>
#include <string>

namespace raftkv::http::testing {

namespace {

struct Delayed {
  uv_timer_t timer;
  Responder responder;
  Response response;
};

std::string echo(const Request& request) {
  std::string text = request.method + " " + request.path;
  if (!request.query.empty()) text += "?" + request.query;
  return text + "\n" + request.body;
}

bool starts_with(const std::string& text, const char* prefix, std::string* rest) {
  const std::string p(prefix);
  if (text.rfind(p, 0) != 0) return false;
  *rest = text.substr(p.size());
  return true;
}

}  // namespace

void answer_later(uv_loop_t* loop, std::uint64_t delay_ms, Responder responder, Response response) {
  auto* delayed = new Delayed{{}, std::move(responder), std::move(response)};
  uv_timer_init(loop, &delayed->timer);
  delayed->timer.data = delayed;
  uv_timer_start(
      &delayed->timer,
      [](uv_timer_t* timer) {
        auto* d = static_cast<Delayed*>(timer->data);
        d->responder.send(std::move(d->response));
        uv_close(reinterpret_cast<uv_handle_t*>(timer),
                 [](uv_handle_t* handle) { delete static_cast<Delayed*>(handle->data); });
      },
      delay_ms, 0);
}

Handler test_handler(uv_loop_t* loop, std::shared_ptr<Held> held) {
  return [loop, held](Request&& request, Responder responder) {
    std::string arg;
    Response response;
    response.content_type = "text/plain";
    response.body = echo(request);
    if (starts_with(request.path, "/delay/", &arg)) {
      answer_later(loop, std::stoull(arg), std::move(responder), std::move(response));
    } else if (starts_with(request.path, "/status/", &arg)) {
      response.status = std::stoi(arg);
      responder.send(std::move(response));
    } else if (starts_with(request.path, "/big/", &arg)) {
      response.body.assign(std::stoull(arg), 'b');
      responder.send(std::move(response));
    } else if (starts_with(request.path, "/borrowed/", &arg)) {
      // "<" then N borrowed bytes that are overwritten right after send():
      // whatever the server did not write at once it must have copied.
      std::string value(std::stoull(arg), 'r');
      response.body = "<";
      response.borrowed_body = value;
      responder.send(std::move(response));
      value.assign(value.size(), 'X');
    } else if (request.path == "/throw") {
      throw std::runtime_error("handler failure");
    } else if (request.path == "/drop") {
      return;
    } else if (request.path == "/hold" && held) {
      held->responders.push_back(std::move(responder));
    } else {
      responder.send(std::move(response));
    }
  };
}

}  // namespace raftkv::http::testing
