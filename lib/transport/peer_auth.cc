#include "transport/peer_auth.h"

#include <sodium.h>

#include <cstdint>

#include "transport/handshake.h"

namespace raftkv::transport {
namespace {

// Domain separation: the label (with its NUL) starts every MAC input, so a
// caller's proof can never be replayed as an acceptor's or vice versa.
constexpr std::string_view kHandshakeLabel{"raftkv-peer-v1 handshake", 25};
constexpr std::string_view kAckLabel{"raftkv-peer-v1 ack", 19};

void append_be(std::string* out, std::uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// Every field has a fixed size or a length prefix, so two different
// handshakes never produce the same MAC input.
std::string mac_input(std::string_view label, std::string_view acceptor_nonce,
                      const pb::Handshake& handshake, bool with_address) {
  std::string input(label);
  append_be(&input, acceptor_nonce.size(), 4);
  input.append(acceptor_nonce);
  append_be(&input, handshake.nonce().size(), 4);
  input.append(handshake.nonce());
  append_be(&input, handshake.from(), 8);
  append_be(&input, handshake.to(), 8);
  if (with_address) {
    append_be(&input, handshake.address().size(), 4);
    input.append(handshake.address());
  }
  return input;
}

std::string hmac(std::string_view secret, const std::string& input) {
  crypto_auth_hmacsha256_state state;
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  sodium_memzero(&state, sizeof state);  // it holds the padded key
  return mac;
}

}  // namespace

static_assert(crypto_auth_hmacsha256_BYTES == kAuthProofBytes);

bool init_peer_auth() {
  return sodium_init() >= 0;  // 1 = already done: fine
}

std::string make_auth_nonce() {
  std::string nonce(kAuthNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

std::string handshake_proof(std::string_view secret, std::string_view acceptor_nonce,
                            const pb::Handshake& handshake) {
  return hmac(secret, mac_input(kHandshakeLabel, acceptor_nonce, handshake, true));
}

std::string ack_proof(std::string_view secret, std::string_view acceptor_nonce,
                      const pb::Handshake& handshake) {
  return hmac(secret, mac_input(kAckLabel, acceptor_nonce, handshake, false));
}

bool proof_matches(std::string_view expected, std::string_view received) {
  if (expected.size() != kAuthProofBytes || received.size() != kAuthProofBytes) return false;
  return sodium_memcmp(expected.data(), received.data(), kAuthProofBytes) == 0;
}

pb::AuthChallenge make_auth_challenge(std::string nonce) {
  pb::AuthChallenge challenge;
  challenge.set_magic(kHandshakeMagic);
  challenge.set_version(kProtocolVersion);
  challenge.set_nonce(std::move(nonce));
  return challenge;
}

}  // namespace raftkv::transport
