"""The peer protocol's bytes by hand (proto/raft.proto, docs/peer-protocol.md):
a tiny protobuf encoder and decoder for flat messages and the 4-byte
big-endian length prefix, so that tests can speak to the Raft port without
the protobuf package. Python stdlib only."""

from __future__ import annotations

import struct

HANDSHAKE_MAGIC = 0x52414654


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def f_varint(num: int, v: int) -> bytes:
    return varint(num << 3) + varint(v)


def f_bytes(num: int, b: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(b)) + b


def f_fixed32(num: int, v: int) -> bytes:
    return varint(num << 3 | 5) + struct.pack("<I", v)


def frame(payload: bytes) -> bytes:
    """One frame on the peer port: the payload's length, then the payload."""
    return struct.pack(">I", len(payload)) + payload


def parse_fields(payload: bytes) -> dict[int, object]:
    """Decodes a flat message of varint, fixed32 and bytes fields."""
    fields, i = {}, 0

    def read_varint() -> int:
        nonlocal i
        value, shift = 0, 0
        while True:
            b = payload[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(payload):
        key = read_varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            fields[num] = read_varint()
        elif wire == 5:
            fields[num] = struct.unpack("<I", payload[i:i + 4])[0]
            i += 4
        elif wire == 2:
            n = read_varint()
            fields[num] = payload[i:i + n]
            i += n
        else:
            raise ValueError(f"wire type {wire}")
    return fields
