#include "test_server.h"

#include <catch2/catch.hpp>

#include <future>
#include <stdexcept>

namespace raftkv::http::testing {

TestServer::TestServer(Limits limits, Handler handler)
    : TestServer(limits, [&](uv_loop_t*) { return std::move(handler); }) {}

TestServer::TestServer(Limits limits, const std::function<Handler(uv_loop_t*)>& make_handler) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_, &TestServer::on_async);
  async_.data = this;
  server_ = std::make_unique<Server>(&loop_, limits, make_handler(&loop_));
  const int rc = server_->listen(util::Address{"127.0.0.1", 0});
  if (rc != 0) throw std::runtime_error(uv_strerror(rc));
  port_ = server_->port();
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
}

TestServer::~TestServer() {
  on_loop([this] {
    server_->close([this] { uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr); });
  });
  thread_.join();  // the loop ends once the async handle is closed
  server_.reset();
  CHECK(uv_loop_close(&loop_) == 0);
}

void TestServer::on_async(uv_async_t* async) {
  auto* self = static_cast<TestServer*>(async->data);
  std::vector<std::function<void()>> tasks;
  {
    const std::lock_guard<std::mutex> lock(self->mutex_);
    tasks.swap(self->tasks_);
  }
  for (auto& task : tasks) task();
}

void TestServer::on_loop(std::function<void()> task) {
  std::promise<void> done;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back([&] {
      task();
      done.set_value();
    });
  }
  uv_async_send(&async_);
  done.get_future().wait();
}

ServerMetrics TestServer::metrics() {
  ServerMetrics copy;
  on_loop([&] { copy = server_->metrics(); });
  return copy;
}

bool TestServer::wait_for(const std::function<bool(const ServerMetrics&)>& condition,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition(metrics())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition(metrics());
}

}  // namespace raftkv::http::testing
