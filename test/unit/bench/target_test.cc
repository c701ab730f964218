#include <catch2/catch.hpp>

#include <string>

#include "endpoint.h"
#include "target.h"

using namespace raftkv::bench;

TEST_CASE("raftkv requests", "[bench][target]") {
  const RequestBuilder b(TargetKind::kRaftkv, false, "127.0.0.1:2020", "/");
  std::string out;
  b.build({OpKind::kWrite, 42, "hello", {}}, &out);
  REQUIRE(out ==
          "PUT /kv/key-42 HTTP/1.1\r\nHost: 127.0.0.1:2020\r\nContent-Length: 5\r\n\r\nhello");
  b.build({OpKind::kRead, 7, {}, {}}, &out);
  REQUIRE(out == "GET /kv/key-7 HTTP/1.1\r\nHost: 127.0.0.1:2020\r\n\r\n");
  b.build({OpKind::kCas, 3, "c1-s2-", "c1-s1-"}, &out);
  REQUIRE(out ==
          "PUT /kv/key-3?prev=c1-s1- HTTP/1.1\r\nHost: 127.0.0.1:2020\r\nContent-Length: "
          "6\r\n\r\nc1-s2-");
  // A CAS without a known previous value is a plain write.
  b.build({OpKind::kCas, 3, "v", {}}, &out);
  REQUIRE(out.rfind("PUT /kv/key-3 HTTP/1.1\r\n", 0) == 0);

  const RequestBuilder stale(TargetKind::kRaftkv, true, "h:1", "/");
  stale.build({OpKind::kRead, 0, {}, {}}, &out);
  REQUIRE(out == "GET /kv/key-0?stale=true HTTP/1.1\r\nHost: h:1\r\n\r\n");
}

TEST_CASE("reusing the request buffer does not reallocate", "[bench][target]") {
  const RequestBuilder b(TargetKind::kRaftkv, false, "127.0.0.1:2020", "/");
  const std::string value(100, 'v');
  std::string out;
  b.build({OpKind::kWrite, 999'999, value, {}}, &out);
  const char* data = out.data();
  for (std::uint64_t k = 0; k < 1000; ++k) {
    b.build({OpKind::kWrite, k, value, {}}, &out);
    REQUIRE(out.data() == data);
  }
}

TEST_CASE("etcd v3 gateway requests", "[bench][target]") {
  const RequestBuilder b(TargetKind::kEtcd, false, "127.0.0.1:2379", "/");
  std::string out;
  b.build({OpKind::kWrite, 1, "bar", {}}, &out);
  const std::string put_body = R"({"key":"a2V5LTE=","value":"YmFy"})";
  REQUIRE(out ==
          "POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nContent-Type: "
          "application/json\r\nContent-Length: " +
              std::to_string(put_body.size()) + "\r\n\r\n" + put_body);
  b.build({OpKind::kRead, 12, {}, {}}, &out);
  const std::string range_body = R"({"key":"a2V5LTEy"})";
  REQUIRE(out.find("POST /v3/kv/range HTTP/1.1\r\n") == 0);
  REQUIRE(out.find("Content-Length: " + std::to_string(range_body.size()) + "\r\n\r\n" +
                   range_body) != std::string::npos);
  const RequestBuilder s(TargetKind::kEtcd, true, "127.0.0.1:2379", "/");
  s.build({OpKind::kRead, 12, {}, {}}, &out);
  const std::string serializable = R"({"key":"a2V5LTEy","serializable":true})";
  REQUIRE(out.find("Content-Length: " + std::to_string(serializable.size()) + "\r\n\r\n" +
                   serializable) != std::string::npos);
}

TEST_CASE("plain requests GET the URL path", "[bench][target]") {
  const RequestBuilder b(TargetKind::kPlain, false, "127.0.0.1:8080", "/index.html");
  std::string out;
  b.build({OpKind::kWrite, 1, "ignored", {}}, &out);
  REQUIRE(out == "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

TEST_CASE("base64, keys and values", "[bench][target]") {
  const auto b64 = [](std::string_view s) {
    std::string out;
    append_base64(s, &out);
    return out;
  };
  REQUIRE(b64("") == "");
  REQUIRE(b64("f") == "Zg==");
  REQUIRE(b64("fo") == "Zm8=");
  REQUIRE(b64("foo") == "Zm9v");
  REQUIRE(b64("foobar") == "Zm9vYmFy");
  REQUIRE(b64("\xff\xfe") == "//4=");
  char buf[24];
  REQUIRE(format_key(0, buf) == "key-0");
  REQUIRE(format_key(18446744073709551615ull, buf) == "key-18446744073709551615");
  std::string value;
  format_value(3, 17, 12, &value);
  REQUIRE(value == "c3-s17-xxxxx");
  format_value(3, 17, 2, &value);
  REQUIRE(value == "c3-s17-");
}

TEST_CASE("URLs", "[bench][target]") {
  auto e = parse_url("http://127.0.0.1:2020");
  REQUIRE(e);
  REQUIRE(e->address.port == 2020);
  REQUIRE(e->path == "/");
  REQUIRE(e->host_header() == "127.0.0.1:2020");
  e = parse_url("http://localhost/x/y");
  REQUIRE(e);
  REQUIRE(e->address.port == 80);
  REQUIRE(e->path == "/x/y");
  e = parse_url("http://[::1]:8080/");
  REQUIRE(e);
  REQUIRE(e->address.host == "::1");
  REQUIRE_FALSE(parse_url("https://127.0.0.1:1"));
  REQUIRE_FALSE(parse_url("http://"));
  REQUIRE_FALSE(parse_url("http://:2020"));
  REQUIRE_FALSE(parse_url("http://example.com:80"));  // numeric hosts only
  std::string bad;
  auto list = parse_url_list("http://127.0.0.1:2020,http://127.0.0.1:2021", &bad);
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  REQUIRE_FALSE(parse_url_list("http://127.0.0.1:2020,nope", &bad));
  REQUIRE(bad == "nope");
}
