#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets (test/fuzz/corpus/).

Run it again after a format change; the files are small on purpose.
Python standard library only; protobuf bytes are built by hand."""

import hashlib
import hmac
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num: int, v: int) -> bytes:
    return varint(num << 3) + varint(v)


def field_bytes(num: int, b: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(b)) + b


def field_fixed32(num: int, v: int) -> bytes:
    return varint(num << 3 | 5) + struct.pack("<I", v)


def write(target: str, name: str, data: bytes) -> None:
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_http_request: byte 0 = piece size (0 = whole input at once)
http_seeds = {
    "get": b"GET /kv/a HTTP/1.1\r\nHost: x\r\n\r\n",
    "put": b"PUT /kv/k%00ey?prev=a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": b"PUT /kv/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    "pipelined": b"GET /status HTTP/1.1\r\n\r\nGET /get?key=a&relaxed=true HTTP/1.1\r\n\r\n"
                 b"DELETE /kv/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "expect": b"PUT /kv/e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    "smuggle": b"POST /kv/a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
}
for i, (name, data) in enumerate(http_seeds.items()):
    write("fuzz_http_request", name, bytes([0 if i % 2 == 0 else 7]) + data)

# ---- fuzz_peer_frame: byte 0 = piece size; frames = be32 length + payload
def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


handshake = (field_fixed32(1, 0x52414654) + field_varint(2, 1) + field_varint(3, 0) +
             field_varint(4, 1))
entry = field_varint(1, 2) + field_varint(2, 5) + field_bytes(4, b"\x01put k=v")
append = field_varint(1, 4) + field_varint(2, 2) + field_bytes(3, entry) + field_varint(4, 4)
msg_append = field_varint(1, 0) + field_varint(2, 1) + field_varint(3, 2) + field_bytes(12, append)
msg_vote = (field_varint(1, 0) + field_varint(2, 1) + field_varint(3, 7) +
            field_bytes(10, field_varint(1, 9) + field_varint(2, 2) + field_varint(3, 1)))
msg_read = field_varint(1, 0) + field_varint(2, 1) + field_varint(3, 2) + field_bytes(
    15, field_bytes(1, varint(1) + varint(2)))
write("fuzz_peer_frame", "handshake_append", b"\x00" + frame(handshake) + frame(msg_append))
write("fuzz_peer_frame", "handshake_vote_read", b"\x05" + frame(handshake) + frame(msg_vote) +
      frame(msg_read))
write("fuzz_peer_frame", "oversized", b"\x00" + b"\xff\xff\xff\xff" + b"x" * 8)
write("fuzz_peer_frame", "zero_length", b"\x00" + frame(handshake) + b"\x00\x00\x00\x00")
write("fuzz_peer_frame", "bad_magic", b"\x00" + frame(field_fixed32(1, 0x12345678)))
# With the target's cluster secret and fixed acceptor nonce: a handshake
# carrying the valid proof (docs/peer-protocol.md, "Cluster secret"), and an
# acceptor's AuthChallenge for the caller's side.
secret, nonce_a, nonce_c = b"fuzz-cluster-secret-0123456789", b"\x5a" * 32, b"\xc3" * 32
proof = hmac.new(secret, b"raftkv-peer-v1 handshake\0" + struct.pack(">I", 32) + nonce_a +
                 struct.pack(">I", 32) + nonce_c + struct.pack(">QQI", 0, 1, 0),
                 hashlib.sha256).digest()
write("fuzz_peer_frame", "handshake_with_proof",
      b"\x00" + frame(handshake + field_bytes(5, proof) + field_bytes(7, nonce_c)) +
      frame(msg_append))
write("fuzz_peer_frame", "auth_challenge",
      b"\x00" + frame(field_fixed32(1, 0x52414654) + field_varint(2, 1) + field_bytes(3, nonce_a)))

# ---- fuzz_wal_recovery: flags byte, split (be16), segment bytes
def seg_header(first: int) -> bytes:
    h = struct.pack("<IIQ", 0x57564B52, 1, first)
    return h + struct.pack("<I", zlib.crc32(h))


def record(index: int, term: int, data: bytes) -> bytes:
    e = field_varint(1, term) + field_varint(2, index) + field_bytes(4, data)
    body = b"\x01" + e
    h = struct.pack("<II", len(body), zlib.crc32(body))
    return h + struct.pack("<I", zlib.crc32(h)) + body


seg1 = seg_header(1) + record(1, 1, b"a") + record(2, 1, b"bb") + record(3, 2, b"ccc")
write("fuzz_wal_recovery", "clean", b"\x00\x00\x00" + seg1)
write("fuzz_wal_recovery", "torn_tail", b"\x00\x00\x00" + seg1[:-2])
write("fuzz_wal_recovery", "truncation", b"\x00\x00\x00" + seg1 + record(2, 3, b"new"))
seg2 = seg_header(4) + record(4, 2, b"d") + record(5, 2, b"e")
write("fuzz_wal_recovery", "two_segments", b"\x04" + struct.pack(">H", len(seg1)) + seg1 + seg2)
write("fuzz_wal_recovery", "no_hardstate", b"\x01\x00\x00" + seg1)
write("fuzz_wal_recovery", "empty_segment", b"\x00\x00\x00")

# ---- fuzz_cluster_spec: the spec text; NULs split an argv
spec_seeds = {
    "goraft": b"0,:3030;1,:3031;2,:3032",
    "full": b"0,127.0.0.1:3030,127.0.0.1:2020;1,[::1]:3031,localhost:2021",
    "dup": b"0,:1;0,:2",
    "argv": b"--node\x001\x00--cluster=0,:1;1,:2\x00--request-timeout\x00250ms\x00"
            b"--max-value-bytes\x0016m\x00--join\x00pos",
    "bad": b"--bogus\x00--node\x00-1\x00--http\x00[::1",
}
for name, data in spec_seeds.items():
    write("fuzz_cluster_spec", name, data)
print("corpus written under", os.path.join(HERE, "corpus"))
