// The server over real sockets: answers, keep-alive, pipelining, async
// handlers, Responder lifetime, close.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "test_client.h"
#include "test_handlers.h"
#include "test_server.h"

using namespace raftkv::http;
using namespace raftkv::http::testing;

TEST_CASE("a GET is answered with the handler's response") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send(get("/hello%20there?x=1&y"));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "GET /hello%20there?x=1&y\n");
  CHECK(response->header("content-type") == "text/plain");
  CHECK(response->header("content-length") == std::to_string(response->body.size()));
  CHECK(response->header("connection").empty());
}

TEST_CASE("a PUT body reaches the handler, also at the 1 MiB+ limit") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send(put("/kv/key", "world"));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "PUT /kv/key\nworld");
  const std::string big(Limits{}.max_body_bytes, 'v');
  client.send(put("/kv/big", big));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "PUT /kv/big\n" + big);
}

TEST_CASE("keep-alive: two requests on one connection") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send(get("/one"));
  REQUIRE(client.read_response()->body == "GET /one\n");
  client.send(get("/two"));
  REQUIRE(client.read_response()->body == "GET /two\n");
  const ServerMetrics metrics = server.metrics();
  CHECK(metrics.connections_accepted == 1);
  CHECK(metrics.requests == 2);
  CHECK(metrics.responses_by_class[2] == 2);
}

TEST_CASE("HTTP/1.0 closes unless keep-alive is asked for; Connection: close closes") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  {
    Client client(server.port());
    client.send("GET /old HTTP/1.0\r\n\r\n");
    const auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->header("connection") == "close");
    CHECK(client.wait_closed());
  }
  {
    Client client(server.port());
    client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(client.read_response()->header("connection") == "keep-alive");
    client.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(client.read_response()->body == "GET /b\n");
  }
  {
    Client client(server.port());
    client.send(get("/last", "Connection: close\r\n") + get("/ignored"));
    const auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "GET /last\n");
    CHECK(response->header("connection") == "close");
    std::string rest;
    CHECK(client.wait_closed(5s, &rest));
    CHECK(rest.empty());  // nothing after Connection: close is answered
  }
}

TEST_CASE("100 pipelined requests sent in one write are answered in order") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  std::string wire;
  for (int i = 0; i < 100; ++i) {
    wire += i % 3 == 0 ? put("/p/" + std::to_string(i), "body" + std::to_string(i))
                       : get("/p/" + std::to_string(i));
  }
  client.send(wire);
  for (int i = 0; i < 100; ++i) {
    const auto response = client.read_response();
    REQUIRE(response);
    const std::string method = i % 3 == 0 ? "PUT" : "GET";
    const std::string body = i % 3 == 0 ? "body" + std::to_string(i) : "";
    CHECK(response->body == method + " /p/" + std::to_string(i) + "\n" + body);
  }
  CHECK(server.metrics().requests == 100);
}

TEST_CASE("asynchronous answers keep pipelined requests in order") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  // Later requests would finish first if they ran concurrently.
  const std::vector<std::string> paths = {"/delay/60", "/now", "/delay/30",
                                          "/delay/0",  "/now", "/delay/10"};
  std::string wire;
  for (const auto& path : paths) wire += get(path);
  client.send(wire);
  for (const auto& path : paths) {
    const auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "GET " + path + "\n");
  }
}

TEST_CASE("a chunked request body arriving in pieces is decoded") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send("PUT /kv/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  client.send("5\r\nhel");
  client.send("lo\r\n6\r\n wor");
  client.send("ld\r\n0\r\n\r\n");
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "PUT /kv/c\nhello world");
}

TEST_CASE("a request sent one byte per write is parsed") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  const std::string wire = put("/kv/slow?x=%41", "0123456789");
  for (const char c : wire) client.send(std::string(1, c));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "PUT /kv/slow?x=%41\n0123456789");
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is sent") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send("PUT /kv/e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  const auto interim = client.read_response();
  REQUIRE(interim);
  CHECK(interim->status == 100);
  client.send("data");
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "PUT /kv/e\ndata");
}

TEST_CASE("a throwing handler or a dropped Responder answers 500, the connection lives on") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send(get("/throw") + get("/drop") + get("/ok"));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 500);
  CHECK(response->header("content-type") == "application/json");
  CHECK(response->body.rfind("{\"error\": ", 0) == 0);
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 500);
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "GET /ok\n");
  CHECK(server.metrics().responses_by_class[5] == 2);
}

TEST_CASE("statuses are served as given; 204 has no body") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send(get("/status/404") + get("/status/204") + get("/status/504"));
  CHECK(client.read_response()->status == 404);
  const auto no_content = client.read_response();
  REQUIRE(no_content);
  CHECK(no_content->status == 204);
  CHECK(no_content->header("content-length").empty());
  CHECK(client.read_response()->status == 504);
}

TEST_CASE("Responder::send after the client reset the connection is a safe no-op") {
  auto held = std::make_shared<Held>();
  TestServer server(Limits{}, [held](uv_loop_t* loop) { return test_handler(loop, held); });
  Client client(server.port());
  client.send(get("/hold"));
  REQUIRE(server.wait_for([](const ServerMetrics& m) { return m.requests == 1; }));
  bool alive = false;
  server.on_loop([&] { alive = held->responders.at(0).connection_alive(); });
  CHECK(alive);
  client.reset();
  REQUIRE(server.wait_for([](const ServerMetrics& m) { return m.connections_open == 0; }));
  server.on_loop([&] {
    const Responder responder = held->responders.at(0);  // copies share the request
    alive = responder.connection_alive();
    responder.send(error_response(504, "too late"));
    responder.send(error_response(504, "twice"));
    held->responders.clear();  // the last copy goes without effect too
  });
  CHECK_FALSE(alive);
  CHECK(server.metrics().responses_by_class[5] == 0);
}

TEST_CASE("a half-closed client still gets its asynchronous answer") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  client.send(get("/delay/50"));
  client.shutdown_write();
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "GET /delay/50\n");
  CHECK(client.wait_closed());
}

TEST_CASE("close() lets a pending request be answered, then closes") {
  auto held = std::make_shared<Held>();
  TestServer server(Limits{}, [held](uv_loop_t* loop) { return test_handler(loop, held); });
  Client busy(server.port());
  Client idle(server.port());
  busy.send(get("/hold"));
  REQUIRE(server.wait_for(
      [](const ServerMetrics& m) { return m.requests == 1 && m.connections_open == 2; }));
  std::atomic<bool> done{false};
  server.on_loop([&] { server.server().close([&] { done = true; }); });
  CHECK(idle.wait_closed());
  CHECK_FALSE(done);
  server.on_loop([&] {
    Response response;
    response.body = "late";
    held->responders.at(0).send(std::move(response));
  });
  const auto response = busy.read_response();
  REQUIRE(response);
  CHECK(response->body == "late");
  CHECK(response->header("connection") == "close");
  CHECK(busy.wait_closed());
  REQUIRE(server.wait_for([&](const ServerMetrics&) { return done.load(); }));
}

TEST_CASE("close() gives an unanswered request only the grace period") {
  auto held = std::make_shared<Held>();
  Limits limits;
  limits.close_grace_ms = 50;
  TestServer server(limits, [held](uv_loop_t* loop) { return test_handler(loop, held); });
  Client client(server.port());
  client.send(get("/hold"));
  REQUIRE(server.wait_for([](const ServerMetrics& m) { return m.requests == 1; }));
  std::atomic<bool> done{false};
  server.on_loop([&] { server.server().close([&] { done = true; }); });
  CHECK(client.wait_closed());
  REQUIRE(server.wait_for([&](const ServerMetrics&) { return done.load(); }));
  server.on_loop([&] { held->responders.at(0).send(Response{}); });  // no-op
}

TEST_CASE("destroying a Server with open connections is safe") {
  auto held = std::make_shared<Held>();
  TestServer host(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  std::unique_ptr<Server> server;
  std::uint16_t port = 0;
  host.on_loop([&] {
    server = std::make_unique<Server>(host.loop(), Limits{}, test_handler(host.loop(), held));
    REQUIRE(server->listen(raftkv::util::Address{"127.0.0.1", 0}) == 0);
    port = server->port();
  });
  Client client(port);
  client.send(get("/hold"));
  std::uint64_t requests = 0;
  for (int i = 0; i < 1000 && requests == 0; ++i) {
    host.on_loop([&] { requests = server->metrics().requests; });
    if (requests == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(requests == 1);
  host.on_loop([&] { server.reset(); });
  CHECK(client.wait_closed());
  host.on_loop([&] {
    CHECK_FALSE(held->responders.at(0).connection_alive());
    held->responders.at(0).send(Response{});
    held->responders.clear();
  });
}

TEST_CASE("listen reports an address in use and a non-numeric host") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  server.on_loop([&] {
    Server other(server.loop(), Limits{}, test_handler(server.loop()));
    CHECK(other.listen(raftkv::util::Address{"127.0.0.1", server.port()}) == UV_EADDRINUSE);
    CHECK(other.port() == 0);
    Server named(server.loop(), Limits{}, test_handler(server.loop()));
    CHECK(named.listen(raftkv::util::Address{"example.com", 80}) == UV_EINVAL);
  });
}

TEST_CASE("reading pauses once max_pipelined_bytes wait behind a pending request") {
  auto held = std::make_shared<Held>();
  Limits limits;
  limits.max_pipelined_bytes = 1024;
  TestServer server(limits, [held](uv_loop_t* loop) { return test_handler(loop, held); });
  Client client(server.port());
  const std::string pad = "X-Pad: " + std::string(1000, 'p') + "\r\n";
  std::string wire = get("/hold");
  for (int i = 0; i < 400; ++i) wire += get("/p/" + std::to_string(i), pad);  // ~400 KB
  client.send(wire);  // the kernel's socket buffers take it all
  REQUIRE(server.wait_for([](const ServerMetrics& m) { return m.requests == 1; }));
  // At most the budget plus one 64 KiB read beyond the held request.
  CHECK(server.metrics().bytes_read < 200 * 1024);
  server.on_loop([&] { held->responders.at(0).send(Response{}); });
  REQUIRE(client.read_response());
  for (int i = 0; i < 400; ++i) {
    const auto response = client.read_response();
    REQUIRE(response);
    REQUIRE(response->body == "GET /p/" + std::to_string(i) + "\n");
  }
  CHECK(server.metrics().bytes_read == wire.size());
}

TEST_CASE("Responder::send from outside the handler never re-enters the handler") {
  auto held = std::make_shared<Held>();
  auto sending = std::make_shared<bool>(false);
  auto reentered = std::make_shared<bool>(false);
  TestServer server(Limits{}, [=](uv_loop_t* loop) -> Handler {
    Handler inner = test_handler(loop, held);
    return [=](Request&& request, Responder responder) {
      if (*sending) *reentered = true;
      inner(std::move(request), std::move(responder));
    };
  });
  Client client(server.port());
  client.send(get("/hold") + get("/next"));
  REQUIRE(server.wait_for([](const ServerMetrics& m) { return m.requests == 1; }));
  server.on_loop([&] {
    *sending = true;  // e.g. Raft answering a batch of requests
    held->responders.at(0).send(Response{});
    *sending = false;
  });
  REQUIRE(client.read_response());
  const auto next = client.read_response();
  REQUIRE(next);
  CHECK(next->body == "GET /next\n");
  bool was_reentered = true;
  server.on_loop([&] { was_reentered = *reentered; });
  CHECK_FALSE(was_reentered);
}

TEST_CASE("a response the socket cannot take at once arrives whole, before the next ones") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  // A small receive buffer: the 4 MiB body is written in part at once and
  // the rest is queued; the answers behind it must wait for it.
  Client client(server.port(), /*receive_buffer=*/4096);
  client.send(get("/big/4194304") + get("/now") + get("/delay/0") + get("/big/100000"));
  auto response = client.read_response(10s);
  REQUIRE(response);
  CHECK(response->body == std::string(4194304, 'b'));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "GET /now\n");
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "GET /delay/0\n");
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == std::string(100000, 'b'));
  // Every byte is counted once, whether written at once or queued: the
  // bodies plus four heads of well under 200 bytes each.
  const std::uint64_t bodies = 4194304 + 9 + 13 + 100000;
  REQUIRE(server.wait_for([&](const ServerMetrics& m) { return m.bytes_written > bodies; }));
  CHECK(server.metrics().bytes_written < bodies + 4 * 200);
}

TEST_CASE("a borrowed body is sent after the body, also when the socket cannot take it at once") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port(), /*receive_buffer=*/4096);
  client.send(get("/borrowed/4194304") + get("/borrowed/10") + get("/delay/0") +
              get("/borrowed/0") + get("/status/204"));
  auto response = client.read_response(10s);
  REQUIRE(response);
  CHECK(response->header("content-length") == "4194305");
  CHECK(response->body == "<" + std::string(4194304, 'r'));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "<" + std::string(10, 'r'));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "GET /delay/0\n");
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "<");
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 204);
  CHECK(response->body.empty());
}

TEST_CASE("answers gathered from one read of pipelined requests stay whole and in order") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  // Small answers are gathered, a large one goes out with them in one
  // writev, a 400 closes after the answers before it; past 64 KiB the
  // gathered answers are flushed early.
  std::string wire;
  for (int i = 0; i < 1000; ++i) wire += get("/borrowed/" + std::to_string(i % 7 == 0 ? 5000 : i));
  wire += "BAD REQUEST\r\n\r\n";
  client.send(wire);
  for (int i = 0; i < 1000; ++i) {
    const auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "<" + std::string(i % 7 == 0 ? 5000 : i, 'r'));
  }
  const auto rejected = client.read_response();
  REQUIRE(rejected);
  CHECK(rejected->status == 400);
  CHECK(rejected->header("connection") == "close");
  std::string rest;
  CHECK(client.wait_closed(5s, &rest));
  CHECK(rest.empty());
}

TEST_CASE("after an asynchronous answer the connection reads the next request") {
  TestServer server(Limits{}, [](uv_loop_t* loop) { return test_handler(loop); });
  Client client(server.port());
  for (int i = 0; i < 3; ++i) {
    client.send(get("/delay/5"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "GET /delay/5\n");
    client.send(get("/now"));
    response = client.read_response();
    REQUIRE(response);
    CHECK(response->body == "GET /now\n");
  }
  const ServerMetrics metrics = server.metrics();
  CHECK(metrics.requests == 6);
  CHECK(metrics.responses_by_class[2] == 6);
}
