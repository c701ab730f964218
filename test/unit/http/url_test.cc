#include <catch2/catch.hpp>

#include "http/url.h"

using namespace raftkv::http;
using namespace std::string_literals;

TEST_CASE("percent_decode decodes %XX in either case and keeps '+'") {
  std::string out;
  REQUIRE(percent_decode("a%20b%2Fc%2fd+e", &out));
  CHECK(out == "a b/c/d+e");
  REQUIRE(percent_decode("", &out));
  CHECK(out.empty());
  REQUIRE(percent_decode("plain-key_1.~", &out));
  CHECK(out == "plain-key_1.~");
}

TEST_CASE("percent_decode preserves NUL and arbitrary bytes") {
  std::string out;
  REQUIRE(percent_decode("x%00y%FF%80", &out));
  CHECK(out == "x\0y\xFF\x80"s);
  CHECK(out.size() == 5);
}

TEST_CASE("percent_decode rejects malformed escapes") {
  std::string out;
  for (const char* bad : {"%", "%2", "a%zz", "%g0", "%0g", "abc%", "%%20", "%2 "}) {
    INFO(bad);
    CHECK_FALSE(percent_decode(bad, &out));
  }
}

TEST_CASE("percent_decode replaces the previous output") {
  std::string out = "old";
  REQUIRE(percent_decode("new", &out));
  CHECK(out == "new");
}

TEST_CASE("parse_query splits, decodes and keeps order and repeats") {
  const auto pairs = parse_query("key=a%20b&value=x+y&flag&key=2&&empty=&pl=%2B");
  REQUIRE(pairs);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"key", "a b"}, {"value", "x y"}, {"flag", ""}, {"key", "2"}, {"empty", ""}, {"pl", "+"}};
  CHECK(*pairs == expected);
}

TEST_CASE("parse_query handles empty input, '=' in values and binary") {
  CHECK(parse_query("")->empty());
  CHECK(parse_query("&&")->empty());
  const auto pairs = parse_query("a=b=c&n%00=%00%ff");
  REQUIRE(pairs);
  REQUIRE(pairs->size() == 2);
  CHECK((*pairs)[0].second == "b=c");
  CHECK((*pairs)[1].first == "n\0"s);
  CHECK((*pairs)[1].second == "\0\xff"s);
}

TEST_CASE("parse_query rejects bad encoding in names and values") {
  CHECK_FALSE(parse_query("a=%zz"));
  CHECK_FALSE(parse_query("%zz=1"));
  CHECK_FALSE(parse_query("ok=1&bad=%4"));
}

TEST_CASE("parse_query into a reused vector replaces every earlier pair") {
  std::vector<std::pair<std::string, std::string>> pairs;
  REQUIRE(parse_query("a=1&long_name_past_the_small_buffer=v&flag=x", &pairs));
  REQUIRE(pairs.size() == 3);
  // Fewer pairs, one without '=': no stale value or extra pair survives.
  REQUIRE(parse_query("flag&b=%41", &pairs));
  const std::vector<std::pair<std::string, std::string>> expected = {{"flag", ""}, {"b", "A"}};
  CHECK(pairs == expected);
  REQUIRE(parse_query("", &pairs));
  CHECK(pairs.empty());
  CHECK_FALSE(parse_query("ok=1&bad=%4", &pairs));
}

TEST_CASE("split_target separates path and query at the first '?'") {
  CHECK(split_target("/kv/a?b=1?c") ==
        std::pair<std::string_view, std::string_view>("/kv/a", "b=1?c"));
  CHECK(split_target("/kv/a").second.empty());
  CHECK(split_target("/kv/a?").second.empty());
  CHECK(split_target("/kv/a?").first == "/kv/a");
}
