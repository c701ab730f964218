// Test fixture: a real http::Server on 127.0.0.1 (free port) whose loop runs
// in a std::thread owned by the test (the library itself has no threads).
// Everything touching the server or its handles goes through on_loop().
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http/server.h"

namespace raftkv::http::testing {

class TestServer {
 public:
  TestServer(Limits limits, Handler handler);
  // For handlers that need the loop (e.g. to answer from a timer).
  TestServer(Limits limits, const std::function<Handler(uv_loop_t*)>& make_handler);
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  // Closes the server on its loop, waits for the close to finish, checks
  // that no handle leaked.
  ~TestServer();

  std::uint16_t port() const { return port_; }
  uv_loop_t* loop() { return &loop_; }
  Server& server() { return *server_; }

  // Runs `task` on the loop thread and waits for it to finish.
  void on_loop(std::function<void()> task);
  // A copy of the metrics, taken on the loop thread.
  ServerMetrics metrics();
  // Polls the metrics until `condition` holds or `timeout` passes.
  bool wait_for(const std::function<bool(const ServerMetrics&)>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  static void on_async(uv_async_t* async);

  uv_loop_t loop_;
  uv_async_t async_;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace raftkv::http::testing
