// The cluster secret: proofs over nonces (peer_auth.h), the caller's side
// (ConnectorAuth) and the acceptor's (check_handshake with HandshakeAuth),
// then whole transports over loopback TCP with the same, another or no
// secret.
#include <catch2/catch.hpp>

#include "harness.h"
#include "transport/connector_auth.h"
#include "transport/frame.h"
#include "transport/handshake.h"
#include "transport/peer_auth.h"

namespace raftkv::transport::test {
namespace {

const std::string kSecret = "0123456789abcdef-the-cluster-secret";
const std::string kOtherSecret = "0123456789abcdef-another-secret!!";

bool members_1_to_3(core::NodeId id) {
  return id >= 1 && id <= 3;
}

// A caller's handshake with its nonce and its proof over `acceptor_nonce`.
pb::Handshake signed_handshake(const std::string& secret, const std::string& acceptor_nonce,
                               core::NodeId from = 3, core::NodeId to = 2) {
  pb::Handshake handshake = make_handshake(from, to, "127.0.0.1:4003");
  handshake.set_nonce(make_auth_nonce());
  handshake.set_auth(handshake_proof(secret, acceptor_nonce, handshake));
  return handshake;
}

HandshakeCheck check_as_2(const pb::Handshake& handshake, const std::string& acceptor_nonce,
                          pb::Handshake* decoded = nullptr) {
  const HandshakeAuth auth{kSecret, acceptor_nonce};
  return check_handshake(handshake.SerializeAsString(), 2, members_1_to_3, &auth, decoded);
}

TEST_CASE("a proof made with the secret over our nonce is accepted", "[auth]") {
  REQUIRE(init_peer_auth());
  const std::string nonce = make_auth_nonce();
  CHECK(nonce.size() == kAuthNonceBytes);
  CHECK(nonce != make_auth_nonce());
  pb::Handshake decoded;
  const HandshakeCheck check = check_as_2(signed_handshake(kSecret, nonce), nonce, &decoded);
  CHECK(check.ok);
  CHECK(check.from == 3);
  CHECK(check.address == "127.0.0.1:4003");
  CHECK(decoded.nonce().size() == kAuthNonceBytes);
}

TEST_CASE("wrong, missing, replayed, truncated or tampered proofs are refused", "[auth]") {
  REQUIRE(init_peer_auth());
  const std::string nonce = make_auth_nonce();
  struct Case {
    const char* what;
    pb::Handshake handshake;
    PeerRejection expected;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"another secret", signed_handshake(kOtherSecret, nonce), PeerRejection::kAuthFailed});
  cases.push_back({"no proof", make_handshake(3, 2), PeerRejection::kAuthMissing});
  // Recorded on an earlier connection, whose acceptor nonce was different.
  cases.push_back(
      {"replayed", signed_handshake(kSecret, make_auth_nonce()), PeerRejection::kAuthFailed});
  pb::Handshake truncated = signed_handshake(kSecret, nonce);
  truncated.set_auth(truncated.auth().substr(0, kAuthProofBytes - 1));
  cases.push_back({"truncated proof", truncated, PeerRejection::kAuthFailed});
  pb::Handshake extended = signed_handshake(kSecret, nonce);
  extended.set_auth(extended.auth() + "x");
  cases.push_back({"proof with a byte more", extended, PeerRejection::kAuthFailed});
  pb::Handshake flipped = signed_handshake(kSecret, nonce);
  std::string flipped_auth = flipped.auth();
  flipped_auth[7] = static_cast<char>(flipped_auth[7] ^ 1);
  flipped.set_auth(flipped_auth);
  cases.push_back({"one bit flipped", flipped, PeerRejection::kAuthFailed});
  pb::Handshake other_from = signed_handshake(kSecret, nonce, 3);
  other_from.set_from(1);  // the proof was for member 3
  cases.push_back({"from changed", other_from, PeerRejection::kAuthFailed});
  pb::Handshake other_address = signed_handshake(kSecret, nonce);
  other_address.set_address("10.0.0.9:4003");
  cases.push_back({"address changed", other_address, PeerRejection::kAuthFailed});
  pb::Handshake short_nonce = make_handshake(3, 2);
  short_nonce.set_nonce("short");
  short_nonce.set_auth(handshake_proof(kSecret, nonce, short_nonce));
  cases.push_back({"short caller nonce", short_nonce, PeerRejection::kAuthFailed});
  // The acceptor's proof over the same handshake is not a caller's proof.
  pb::Handshake reflected = signed_handshake(kSecret, nonce);
  reflected.set_auth(ack_proof(kSecret, nonce, reflected));
  cases.push_back({"acceptor's proof reflected", reflected, PeerRejection::kAuthFailed});
  for (const Case& c : cases) {
    INFO(c.what);
    const HandshakeCheck check = check_as_2(c.handshake, nonce);
    CHECK_FALSE(check.ok);
    CHECK(check.rejection == c.expected);
    CHECK_FALSE(check.reason.empty());
  }
}

TEST_CASE("a stranger without the secret is refused for that, whatever id it claims", "[auth]") {
  REQUIRE(init_peer_auth());
  const HandshakeCheck check = check_as_2(make_handshake(99, 2), make_auth_nonce());
  CHECK(check.rejection == PeerRejection::kAuthMissing);
  // With the secret but not a member: refused as unknown, as without secrets.
  const std::string nonce = make_auth_nonce();
  CHECK(check_as_2(signed_handshake(kSecret, nonce, 99), nonce).rejection ==
        PeerRejection::kUnknownMember);
}

TEST_CASE("without a secret, handshakes are checked as before", "[auth]") {
  CHECK(check_handshake(make_handshake(3, 2).SerializeAsString(), 2, members_1_to_3).ok);
  // A proof is not looked at by a member without a secret.
  CHECK(check_handshake(signed_handshake(kSecret, "x").SerializeAsString(), 2, members_1_to_3).ok);
}

TEST_CASE("proof_matches needs exactly the proof", "[auth]") {
  const std::string proof(kAuthProofBytes, 'p');
  CHECK(proof_matches(proof, proof));
  CHECK_FALSE(proof_matches(proof, std::string(kAuthProofBytes, 'q')));
  CHECK_FALSE(proof_matches(proof, proof.substr(1)));
  CHECK_FALSE(proof_matches(proof, ""));
  CHECK_FALSE(proof_matches("", ""));
}

// Feeds `bytes` to a ConnectorAuth as libuv would.
ConnectorAuth::Step feed(ConnectorAuth& auth, const std::string& bytes) {
  const std::span<char> space = auth.read_space();
  REQUIRE(space.size() >= bytes.size());
  std::copy(bytes.begin(), bytes.end(), space.begin());
  auth.commit(bytes.size());
  return auth.next();
}

std::string payload_of(const std::string& frame) {
  return frame.substr(kFrameHeaderBytes);
}

TEST_CASE("the caller answers a challenge and checks the acceptor's proof", "[auth]") {
  REQUIRE(init_peer_auth());
  ConnectorAuth caller(kSecret, make_handshake(3, 2, "127.0.0.1:4003"), 1 << 20);
  CHECK(caller.next() == ConnectorAuth::Step::kNeedMore);
  const std::string nonce = make_auth_nonce();
  REQUIRE(feed(caller, frame_of(make_auth_challenge(nonce))) ==
          ConnectorAuth::Step::kSendHandshake);
  // What the acceptor receives passes its check...
  pb::Handshake received;
  const HandshakeAuth auth{kSecret, nonce};
  const HandshakeCheck check =
      check_handshake(payload_of(caller.handshake_frame()), 2, members_1_to_3, &auth, &received);
  REQUIRE(check.ok);
  CHECK(check.from == 3);
  SECTION("the right acceptor proof completes it") {
    pb::AuthAck ack;
    ack.set_auth(ack_proof(kSecret, nonce, received));
    CHECK(feed(caller, frame_of(ack)) == ConnectorAuth::Step::kDone);
  }
  SECTION("an acceptor with another secret is refused") {
    pb::AuthAck ack;
    ack.set_auth(ack_proof(kOtherSecret, nonce, received));
    CHECK(feed(caller, frame_of(ack)) == ConnectorAuth::Step::kFailed);
    CHECK_FALSE(caller.error().empty());
  }
  SECTION("the caller's own proof echoed back is refused") {
    pb::AuthAck ack;
    ack.set_auth(received.auth());
    CHECK(feed(caller, frame_of(ack)) == ConnectorAuth::Step::kFailed);
  }
  SECTION("an empty answer is refused") {
    pb::AuthAck ack;
    ack.set_auth("");
    // An empty AuthAck serializes to nothing: send a frame with junk instead.
    CHECK(feed(caller, std::string("\0\0\0\x01\x00", 5)) == ConnectorAuth::Step::kFailed);
  }
}

TEST_CASE("the caller refuses a bad challenge", "[auth]") {
  REQUIRE(init_peer_auth());
  pb::AuthChallenge bad_magic = make_auth_challenge(make_auth_nonce());
  bad_magic.set_magic(1);
  pb::AuthChallenge short_nonce = make_auth_challenge("0123456789");
  for (const std::string& bytes :
       {frame_of(bad_magic), frame_of(short_nonce), std::string("\x7f\xff\xff\xff", 4),
        std::string("\0\0\0\0", 4), std::string("\0\0\0\x02\xff\xff", 6)}) {
    ConnectorAuth caller(kSecret, make_handshake(3, 2), 1 << 20);
    CHECK(feed(caller, bytes) == ConnectorAuth::Step::kFailed);
    CHECK_FALSE(caller.error().empty());
  }
}

TransportOptions with_secret(const std::string& secret) {
  TransportOptions options;
  options.cluster_secret = secret;
  options.handshake_timeout_ms = 300;  // so that a caller waiting in vain is closed soon
  return options;
}

struct Pair {
  Pair(Loop& loop, const TransportOptions& options_a, const TransportOptions& options_b)
      : port_a(free_port()),
        port_b(free_port()),
        a(loop, 1, {{2, loopback(port_b)}}, port_a, options_a),
        b(loop, 2, {{1, loopback(port_a)}}, port_b, options_b) {}
  std::uint16_t port_a, port_b;
  Node a, b;
};

TEST_CASE("members with the same secret talk both ways", "[auth][transport]") {
  Loop loop;
  Pair pair(loop, with_secret(kSecret), with_secret(kSecret));
  REQUIRE(pair.a.transport->send(heartbeat(2, 1)));
  REQUIRE(pair.b.transport->send(vote(1, 2)));
  REQUIRE(
      loop.run_until([&] { return pair.a.received.size() == 1 && pair.b.received.size() == 1; }));
  CHECK(pair.b.received[0].from == 1);
  CHECK(pair.a.received[0].term == 2);
  // Later messages flow on the authenticated connection.
  for (std::uint64_t term = 3; term < 50; ++term)
    REQUIRE(pair.a.transport->send(heartbeat(2, term)));
  REQUIRE(loop.run_until([&] { return pair.b.received.size() == 48; }));
  CHECK(pair.a.transport->peer_metrics(2).connected);
  CHECK(pair.a.transport->peer_metrics(2).reconnects == 0);
  CHECK(pair.a.transport->rejected_connections() == 0);
  CHECK(pair.b.transport->rejected_connections() == 0);
  REQUIRE(pair.a.close(loop));
  REQUIRE(pair.b.close(loop));
  REQUIRE(loop.close() == 0);
}

// Sends a heartbeat from each side every 20 ms for `ms`.
void chatter(Loop& loop, Pair& pair, std::uint64_t ms) {
  std::uint64_t term = 0;
  Ticker ticker(loop, 20, [&] {
    pair.a.transport->send(heartbeat(2, ++term));
    pair.b.transport->send(heartbeat(1, term));
  });
  loop.run_for(ms);
  ticker.stop_and_wait(loop);
}

TEST_CASE("members with different secrets never deliver a message", "[auth][transport]") {
  Loop loop;
  Pair pair(loop, with_secret(kSecret), with_secret(kOtherSecret));
  chatter(loop, pair, 1000);
  CHECK(pair.a.received.empty());
  CHECK(pair.b.received.empty());
  CHECK_FALSE(pair.a.transport->peer_metrics(2).connected);
  // Each refused the other's proof (redialled every backoff_max_ms).
  CHECK(pair.a.transport->rejections()[PeerRejection::kAuthFailed] >= 2);
  CHECK(pair.b.transport->rejections()[PeerRejection::kAuthFailed] >= 2);
  REQUIRE(pair.a.close(loop));
  REQUIRE(pair.b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("a member with a secret and one without never deliver a message", "[auth][transport]") {
  Loop loop;
  TransportOptions plain;
  plain.handshake_timeout_ms = 300;
  Pair pair(loop, with_secret(kSecret), plain);
  chatter(loop, pair, 1500);
  CHECK(pair.a.received.empty());
  CHECK(pair.b.received.empty());
  // a refuses b's handshake without a proof; b closes a's connection that
  // waited in vain for a challenge b never sends.
  CHECK(pair.a.transport->rejections()[PeerRejection::kAuthMissing] >= 2);
  CHECK(pair.b.transport->rejections()[PeerRejection::kHandshakeTimeout] >= 1);
  REQUIRE(pair.a.close(loop));
  REQUIRE(pair.b.close(loop));
  REQUIRE(loop.close() == 0);
}

TEST_CASE("raw clients without a valid proof get no message through", "[auth][transport]") {
  REQUIRE(init_peer_auth());
  Loop loop;
  const std::uint16_t port_b = free_port();
  Node b(loop, 2, {{3, loopback(free_port())}}, port_b, with_secret(kSecret));
  pb::Message message = vote(2, 42);
  message.set_from(3);
  struct Attempt {
    const char* what;
    std::string handshake;
    PeerRejection expected;
  };
  const Attempt attempts[] = {
      {"no proof", frame_of(make_handshake(3, 2)), PeerRejection::kAuthMissing},
      {"another secret", frame_of(signed_handshake(kOtherSecret, make_auth_nonce())),
       PeerRejection::kAuthFailed},
      {"a recorded proof (old nonce)", frame_of(signed_handshake(kSecret, make_auth_nonce())),
       PeerRejection::kAuthFailed},
  };
  std::uint64_t rejected = 0;
  for (const Attempt& attempt : attempts) {
    INFO(attempt.what);
    RawClient client(loop, port_b, attempt.handshake + frame_of(message));
    REQUIRE(loop.run_until([&] { return client.closed_by_server(); }));
    CHECK(b.transport->rejections()[attempt.expected] >= 1);
    CHECK(b.transport->rejected_connections() == ++rejected);
    client.close_and_wait(loop);
  }
  CHECK(b.received.empty());
  REQUIRE(b.close(loop));
  REQUIRE(loop.close() == 0);
}

}  // namespace
}  // namespace raftkv::transport::test
