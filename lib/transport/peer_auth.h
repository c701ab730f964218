// Cluster-secret proofs for the peer handshake (docs/peer-protocol.md,
// "Cluster secret"): HMAC-SHA-256 keyed with the secret over both sides'
// fresh nonces and the identities in the handshake, via libsodium.
//
//   acceptor -> caller: AuthChallenge{nonce_a}
//   caller -> acceptor: Handshake{from, to, address, nonce_c,
//                                 auth = handshake_proof(...)}
//   acceptor -> caller: AuthAck{auth = ack_proof(...)}
//
// The two proofs carry different labels, so one can never stand in for the
// other, and each covers the acceptor's nonce, so a proof recorded on one
// connection is worthless on any other. Authentication only: later frames
// are neither encrypted nor protected against tampering.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "raft.pb.h"

namespace raftkv::transport {

inline constexpr std::size_t kAuthNonceBytes = 32;
inline constexpr std::size_t kAuthProofBytes = 32;  // HMAC-SHA-256

// libsodium's one-time initialisation (idempotent, thread-safe). False if
// it failed: no secure randomness, so no nonces.
bool init_peer_auth();

// kAuthNonceBytes of secure randomness. init_peer_auth() must have succeeded.
std::string make_auth_nonce();

// The caller's proof: over the acceptor's nonce and the handshake's nonce,
// from, to and address.
std::string handshake_proof(std::string_view secret, std::string_view acceptor_nonce,
                            const pb::Handshake& handshake);
// The acceptor's proof: over both nonces and the handshake's from and to.
std::string ack_proof(std::string_view secret, std::string_view acceptor_nonce,
                      const pb::Handshake& handshake);

// Whether `received` is exactly `expected` (a proof of kAuthProofBytes), in
// time that does not depend on where they differ.
bool proof_matches(std::string_view expected, std::string_view received);

pb::AuthChallenge make_auth_challenge(std::string nonce);

}  // namespace raftkv::transport
