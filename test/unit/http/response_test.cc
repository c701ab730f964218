#include <catch2/catch.hpp>

#include "http/response.h"

using namespace raftkv::http;

TEST_CASE("serialize_head writes status line, framing and extra headers") {
  Response response;
  response.status = 404;
  response.body = "{}";
  response.headers = {{"X-Raft-Leader", "2"}};
  CHECK(serialize_head(response, ConnectionHeader::kNone) ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        "X-Raft-Leader: 2\r\n\r\n");
  CHECK(serialize_head(response, ConnectionHeader::kClose).find("Connection: close\r\n") !=
        std::string::npos);
  CHECK(serialize_head(response, ConnectionHeader::kKeepAlive).find("Connection: keep-alive\r\n") !=
        std::string::npos);
}

TEST_CASE("serialize_head: each response's own status and type, whatever came before") {
  Response plain;
  plain.content_type = "text/plain";
  plain.body = "x";
  Response error;
  error.status = 503;
  error.body = "{}";
  Response injected;
  injected.content_type = "text/plain\r\nX-Evil: 1";
  for (int i = 0; i < 2; ++i) {
    CHECK(serialize_head(plain, ConnectionHeader::kNone) ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\n");
    CHECK(serialize_head(error, ConnectionHeader::kNone) ==
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Content-Length: 2\r\n\r\n");
    CHECK(serialize_head(injected, ConnectionHeader::kNone) ==
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  }
}

TEST_CASE("serialize_head counts a borrowed body after the body") {
  Response response;
  response.body = "ab";
  const std::string stored(300, 'v');
  response.borrowed_body = stored;
  CHECK(serialize_head(response, ConnectionHeader::kNone).find("Content-Length: 302\r\n") !=
        std::string::npos);
  response.status = 204;
  CHECK(serialize_head(response, ConnectionHeader::kNone).find("Content-Length") ==
        std::string::npos);
}

TEST_CASE("serialize_head drops framing overrides and header injection") {
  Response response;
  response.body = "abc";
  response.content_type = "text/plain";
  response.headers = {{"Content-Length", "99"},
                      {"connection", "keep-alive"},
                      {"X-Bad", "a\r\nSet-Cookie: x"},
                      {"X\nBad", "v"},
                      {"", "v"},
                      {"X-Good", "ok"}};
  CHECK(serialize_head(response, ConnectionHeader::kNone) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
        "X-Good: ok\r\n\r\n");
}

TEST_CASE("serialize_head: 204 has no body framing, odd statuses become 500") {
  Response response;
  response.status = 204;
  CHECK(serialize_head(response, ConnectionHeader::kNone) == "HTTP/1.1 204 No Content\r\n\r\n");
  response.status = 99;
  CHECK(serialize_head(response, ConnectionHeader::kNone).rfind("HTTP/1.1 500 ", 0) == 0);
  response.status = 101;
  CHECK(serialize_head(response, ConnectionHeader::kNone).rfind("HTTP/1.1 500 ", 0) == 0);
  response.status = 599;
  CHECK(serialize_head(response, ConnectionHeader::kNone).rfind("HTTP/1.1 599 Unknown", 0) == 0);
}

TEST_CASE("error_response builds the JSON error body") {
  const Response response = error_response(503, "no \"leader\"\n");
  CHECK(response.status == 503);
  CHECK(response.content_type == "application/json");
  CHECK(response.body == "{\"error\": \"no \\\"leader\\\"\\n\"}\n");
}
