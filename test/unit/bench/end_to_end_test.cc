// The bench against a tiny HTTP responder running on the same libuv loop: a
// raw TCP server that parses requests with llhttp and answers each one (200
// "ok", or a /status body naming itself the leader), or stays silent to
// provoke timeouts.
#include <catch2/catch.hpp>

#include <llhttp.h>
#include <uv.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "app.h"
#include "options.h"

using namespace raftkv::bench;

namespace {

class Responder {
 public:
  enum class Mode { kAnswer, kSilent, kCloseEach };
  explicit Responder(uv_loop_t* loop, Mode mode = Mode::kAnswer) : loop_(loop), mode_(mode) {
    uv_tcp_init(loop_, &server_);
    server_.data = this;
    sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    REQUIRE(uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 128, &on_connection) == 0);
    sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }

  ~Responder() {
    // Close the listener and every accepted client, then let the loop finish.
    uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
    for (auto& peer : peers_)
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&peer->tcp)))
        uv_close(reinterpret_cast<uv_handle_t*>(&peer->tcp), nullptr);
    uv_run(loop_, UV_RUN_DEFAULT);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint64_t requests() const { return requests_; }

 private:
  struct Peer {
    uv_tcp_t tcp{};
    llhttp_t parser{};
    Responder* owner = nullptr;
    std::string url;
    char buffer[65536];
  };

  static void on_connection(uv_stream_t* server, int status) {
    if (status != 0) return;
    auto* self = static_cast<Responder*>(server->data);
    auto peer = std::make_unique<Peer>();
    peer->owner = self;
    uv_tcp_init(self->loop_, &peer->tcp);
    peer->tcp.data = peer.get();
    llhttp_init(&peer->parser, HTTP_REQUEST, &self->settings());
    peer->parser.data = peer.get();
    uv_accept(server, reinterpret_cast<uv_stream_t*>(&peer->tcp));
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&peer->tcp),
        [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
          auto* p = static_cast<Peer*>(h->data);
          *buf = uv_buf_init(p->buffer, sizeof p->buffer);
        },
        &on_read);
    self->peers_.push_back(std::move(peer));
  }

  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* peer = static_cast<Peer*>(stream->data);
    if (nread < 0) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(stream)))
        uv_close(reinterpret_cast<uv_handle_t*>(stream), nullptr);
      return;
    }
    llhttp_execute(&peer->parser, buf->base, static_cast<std::size_t>(nread));
  }

  const llhttp_settings_t& settings() {
    llhttp_settings_init(&settings_);
    settings_.on_url = [](llhttp_t* p, const char* at, std::size_t n) {
      static_cast<Peer*>(p->data)->url.append(at, n);
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      auto* peer = static_cast<Peer*>(p->data);
      peer->owner->answer(peer);
      peer->url.clear();
      return 0;
    };
    return settings_;
  }

  void answer(Peer* peer) {
    ++requests_;
    if (mode_ == Mode::kSilent) return;
    std::string body = "ok";
    if (peer->url == "/status")
      body = R"({"leader": 1, "members": [{"id": 1, "http": "127.0.0.1:)" + std::to_string(port_) +
             R"("}]})";
    auto* text = new std::string(
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    auto* request = new uv_write_t;
    request->data = text;
    uv_buf_t b = uv_buf_init(text->data(), static_cast<unsigned>(text->size()));
    uv_write(request, reinterpret_cast<uv_stream_t*>(&peer->tcp), &b, 1, [](uv_write_t* r, int) {
      delete static_cast<std::string*>(r->data);
      delete r;
    });
  }

  uv_loop_t* loop_;
  Mode mode_;
  uv_tcp_t server_{};
  llhttp_settings_t settings_{};
  int port_ = 0;
  std::uint64_t requests_ = 0;
  std::vector<std::unique_ptr<Peer>> peers_;
};

struct Run {
  AppResult result;
  std::string out, err;
  double seconds = 0;
};

Run run_bench(uv_loop_t* loop, std::vector<std::string> args) {
  std::vector<const char*> argv{"raftkv-bench"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Options options;
  std::string error;
  REQUIRE(parse_options(static_cast<int>(argv.size()), argv.data(), &options, &error) ==
          ParseOutcome::kRun);
  std::ostringstream out, err;
  Run run;
  const std::uint64_t start = uv_hrtime();
  run.result = run_app(options, loop, out, err);
  run.seconds = static_cast<double>(uv_hrtime() - start) / 1e9;
  run.out = out.str();
  run.err = err.str();
  return run;
}

struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
};

}  // namespace

TEST_CASE("1000 requests against a local responder", "[bench][e2e]") {
  Loop l;
  Responder responder(&l.loop);
  const Run run = run_bench(&l.loop, {"--url", responder.url(), "--requests", "1000", "--clients",
                                      "8", "--writes", "50", "--quiet"});
  INFO(run.err);
  REQUIRE(run.result.exit_code == 0);
  REQUIRE(run.result.runs.size() == 1);
  const Summary& s = run.result.runs.front();
  REQUIRE(s.stats.ops == 1000);
  REQUIRE(s.stats.errors.total() == 0);
  REQUIRE(s.stats.latency.count() == 1000);
  REQUIRE(s.clients == 8);
  REQUIRE(responder.requests() >= 1000);
  REQUIRE(run.out.find("operations:  1000") != std::string::npos);
  REQUIRE(run.out.find("p99.9") != std::string::npos);
}

TEST_CASE("pipelined, fixed-rate, JSON and sweep runs", "[bench][e2e]") {
  Loop l;
  Responder responder(&l.loop);
  SECTION("pipeline") {
    const Run run = run_bench(
        &l.loop, {"--url", responder.url(), "--requests", "2000", "--clients", "4", "--pipeline",
                  "8", "--json", "--quiet", "--cas", "50", "--zipf", "1.1"});
    REQUIRE(run.result.exit_code == 0);
    REQUIRE(run.result.runs.front().stats.ops == 2000);
    REQUIRE(run.out.rfind("{\"ops\":2000,\"errors\":{}", 0) == 0);
    REQUIRE(run.out.find("\"latency_ms\":{\"p50\":") != std::string::npos);
    REQUIRE(run.out.find("\"clients\":4,\"writes_percent\":50,\"value_size\":100") !=
            std::string::npos);
  }
  SECTION("fixed rate") {
    const Run run = run_bench(&l.loop, {"--url", responder.url(), "--requests", "200", "--rate",
                                        "2000", "--clients", "4", "--quiet"});
    REQUIRE(run.result.exit_code == 0);
    const Summary& s = run.result.runs.front();
    REQUIRE(s.stats.ops == 200);
    // 200 requests at 2000/s take about 0.1 s: the schedule, not the server, sets the pace.
    REQUIRE(s.duration_s >= 0.09);
    REQUIRE(s.duration_s < 2.0);
  }
  SECTION("sweep with CSV, warmup and prefill") {
    const std::string csv = "/tmp/raftkv-bench-test-" + std::to_string(uv_os_getpid()) + ".csv";
    const Run run = run_bench(
        &l.loop, {"--url", responder.url(), "--requests", "300", "--sweep", "1,4", "--csv", csv,
                  "--warmup", "20ms", "--prefill", "--keys", "50", "--writes", "0", "--quiet"});
    REQUIRE(run.result.exit_code == 0);
    REQUIRE(run.result.runs.size() == 2);
    REQUIRE(run.result.runs[1].clients == 4);
    REQUIRE(run.out.find("clients") != std::string::npos);
    std::FILE* f = std::fopen(csv.c_str(), "r");
    REQUIRE(f != nullptr);
    char line[256] = {};
    REQUIRE(std::fgets(line, sizeof line, f) != nullptr);
    REQUIRE(std::string(line) == "clients,ops_per_s,p50_ms,p99_ms,errors\n");
    std::fclose(f);
    std::remove(csv.c_str());
  }
  SECTION("leader only") {
    const Run run = run_bench(
        &l.loop, {"--url", responder.url(), "--requests", "100", "--leader-only", "--quiet"});
    INFO(run.err);
    REQUIRE(run.result.exit_code == 0);
    REQUIRE(run.result.runs.front().stats.ops == 100);
  }
  SECTION("a duration run") {
    const Run run =
        run_bench(&l.loop, {"--url", responder.url(), "--duration", "300ms", "--clients", "2"});
    REQUIRE(run.result.exit_code == 0);
    REQUIRE(run.result.runs.front().duration_s == Approx(0.3).margin(0.05));
    REQUIRE(run.result.runs.front().stats.ops > 0);
  }
}

TEST_CASE("a server closing after each answer costs reconnects, not errors", "[bench][e2e]") {
  Loop l;
  Responder responder(&l.loop, Responder::Mode::kCloseEach);
  const Run run = run_bench(&l.loop, {"--url", responder.url(), "--requests", "200", "--clients",
                                      "4", "--target", "plain", "--quiet"});
  REQUIRE(run.result.exit_code == 0);
  REQUIRE(run.result.runs.front().stats.ops == 200);
  REQUIRE(run.result.runs.front().stats.errors.total() == 0);
  REQUIRE(run.seconds < 5);
}

TEST_CASE("a silent server produces timeouts, not a hang", "[bench][e2e]") {
  Loop l;
  Responder responder(&l.loop, Responder::Mode::kSilent);
  const Run run = run_bench(&l.loop, {"--url", responder.url(), "--requests", "3", "--clients", "1",
                                      "--timeout", "100ms", "--quiet"});
  REQUIRE(run.result.exit_code == 0);
  const Summary& s = run.result.runs.front();
  REQUIRE(s.stats.ops == 0);
  REQUIRE(s.stats.errors.timeout == 3);
  REQUIRE(run.out.find("timeout: 3") != std::string::npos);
  REQUIRE(run.seconds < 5);
}

TEST_CASE("an unreachable URL exits 1 quickly", "[bench][e2e]") {
  Loop l;
  // Port 1 on loopback: nothing listens, connections are refused at once.
  const Run run = run_bench(
      &l.loop, {"--url", "http://127.0.0.1:1", "--clients", "4", "--duration", "30s", "--quiet"});
  REQUIRE(run.result.exit_code == 1);
  REQUIRE(run.seconds < 3);
  REQUIRE(run.err.find("cannot connect") != std::string::npos);
  REQUIRE(run.err.find("127.0.0.1:1") != std::string::npos);
  REQUIRE(std::count(run.err.begin(), run.err.end(), '\n') == 1);
}
