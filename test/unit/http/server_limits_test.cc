// Limits enforced by the server: each answered with a JSON error and
// "Connection: close", then the connection closes.
#include <catch2/catch.hpp>

#include "test_client.h"
#include "test_handlers.h"
#include "test_server.h"

using namespace raftkv::http;
using namespace raftkv::http::testing;

namespace {

// Sends `wire`, expects `status` with a JSON error, "Connection: close" and
// then the end of the connection.
void expect_rejection(TestServer& server, const std::string& wire, int status,
                      const std::string& message_part = "") {
  Client client(server.port());
  client.send(wire);
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == status);
  CHECK(response->header("connection") == "close");
  CHECK(response->header("content-type") == "application/json");
  CHECK(response->body.rfind("{\"error\": \"", 0) == 0);
  CHECK(response->body.find(message_part) != std::string::npos);
  CHECK(client.wait_closed());
}

Handler plain(uv_loop_t* loop) {
  return test_handler(loop);
}

}  // namespace

TEST_CASE("a URL over max_url_bytes is answered 414") {
  TestServer server(Limits{}, plain);
  expect_rejection(server, get("/" + std::string(9000, 'a')), 414, "URI");
  CHECK(server.metrics().rejected[Rejection::kUriTooLong] == 1);
  CHECK(server.metrics().requests == 0);
}

TEST_CASE("a header block over max_header_bytes is answered 431") {
  TestServer server(Limits{}, plain);
  expect_rejection(server, get("/", "X-Big: " + std::string(20000, 'b') + "\r\n"), 431,
                   "header block");
  // Many small headers add up as well.
  std::string many;
  for (int i = 0; i < 60; ++i)
    many += "X-" + std::to_string(i) + ": " + std::string(300, 'v') + "\r\n";
  expect_rejection(server, get("/", many), 431, "header block");
}

TEST_CASE("more than max_headers header lines are answered 431") {
  TestServer server(Limits{}, plain);
  std::string headers;
  for (int i = 0; i < 64; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
  // Host + 63 more is exactly the limit.
  Client ok(server.port());
  ok.send(get("/", headers.substr(0, headers.rfind("X-63"))));
  REQUIRE(ok.read_response()->status == 200);
  expect_rejection(server, get("/", headers), 431, "header fields");
}

TEST_CASE("a Content-Length over max_body_bytes is answered 413 before the body is sent") {
  TestServer server(Limits{}, plain);
  expect_rejection(server, "PUT /kv/x HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000000\r\n\r\n",
                   413, "body");
  // The same with Expect: 100-continue: no 100, straight 413.
  expect_rejection(server,
                   "PUT /kv/x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                   "Content-Length: 10000000000\r\n\r\n",
                   413);
  CHECK(server.metrics().responses_by_class[1] == 0);
}

TEST_CASE("a 413 reaches a client that keeps sending its body") {
  Limits limits;
  limits.max_body_bytes = 1000;
  TestServer server(limits, plain);
  Client client(server.port());
  client.send("PUT /kv/x HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\n\r\n" +
              std::string(300000, 'x'));
  const auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 413);
  CHECK(client.wait_closed());
}

TEST_CASE("a chunked body growing past max_body_bytes is answered 413") {
  Limits limits;
  limits.max_body_bytes = 1000;
  TestServer server(limits, plain);
  const std::string chunk = "258\r\n" + std::string(600, 'c') + "\r\n";  // 0x258 = 600
  expect_rejection(
      server, "PUT /kv/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk,
      413);
}

TEST_CASE("malformed requests are answered 400 with llhttp's reason and closed") {
  TestServer server(Limits{}, plain);
  expect_rejection(server, "HELLO THERE\r\n\r\n", 400, "malformed request: ");
  expect_rejection(server, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, "malformed request: ");
  // Request smuggling shapes stay errors (lenient flags are off).
  expect_rejection(server,
                   "PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   400);
  CHECK(server.metrics().rejected[Rejection::kMalformed] == 3);
}

TEST_CASE("requests before a malformed one are answered first") {
  TestServer server(Limits{}, plain);
  Client client(server.port());
  client.send(get("/first") + get("/second") + "BROKEN\r\n\r\n");
  CHECK(client.read_response()->body == "GET /first\n");
  CHECK(client.read_response()->body == "GET /second\n");
  const auto error = client.read_response();
  REQUIRE(error);
  CHECK(error->status == 400);
  CHECK(client.wait_closed());
}

TEST_CASE("past max_connections new connections are closed at once") {
  Limits limits;
  limits.max_connections = 2;
  TestServer server(limits, plain);
  auto first = std::make_unique<Client>(server.port());
  Client second(server.port());
  first->send(get("/1"));
  second.send(get("/2"));
  REQUIRE(first->read_response());
  REQUIRE(second.read_response());
  {
    Client third(server.port());
    std::string rest;
    CHECK(third.wait_closed(5s, &rest));
    CHECK(rest.empty());
  }
  CHECK(server.metrics().rejected[Rejection::kConnectionLimit] == 1);
  first.reset();  // frees a slot
  REQUIRE(server.wait_for([](const ServerMetrics& m) { return m.connections_open == 1; }));
  Client fourth(server.port());
  fourth.send(get("/4"));
  const auto response = fourth.read_response();
  REQUIRE(response);
  CHECK(response->body == "GET /4\n");
}

TEST_CASE("a client that does not read its responses is closed past max_output_bytes") {
  Limits limits;
  limits.max_output_bytes = 256 * 1024;
  TestServer server(limits, plain);
  Client client(server.port(), /*receive_buffer=*/4096);
  std::string wire;
  for (int i = 0; i < 64; ++i) wire += get("/big/262144");  // 16 MiB of answers
  client.send(wire);
  REQUIRE(server.wait_for(
      [](const ServerMetrics& m) { return m.rejected[Rejection::kOutputBufferOverflow] == 1; }));
  CHECK(client.wait_closed(10s));
  CHECK(server.metrics().connections_open == 0);
}
