#!/usr/bin/env python3
"""Writes the seed corpus of the frame fuzzer (Fixtures/fuzz/frames): well-formed frames as
Connection sends them (docs/channels.md), and the broken ones the decoder must refuse."""
import json, os, struct, sys

def fnv(b):
    h = 0x811C9DC5
    for x in b:
        h = ((h ^ x) * 0x01000193) & 0xFFFFFFFF
    return h

def frame(payload, kind=1, length=None, puid=0x1234, seq=7, magic=b"FLF1", reserved=b"\0\0\0"):
    head = magic + struct.pack("<IQQB", len(payload) if length is None else length, puid, seq, kind) + reserved
    return head + struct.pack("<I", fnv(head)) + payload

probe = json.dumps({"id": 1, "name": "ping", "parts": [1.5, 2]}).encode()
seeds = {
    "json-probe": frame(probe),
    "raw-bytes": frame(b"\x00\x01\x02hello", kind=0),
    "two-frames": frame(b"abc", kind=0) + frame(probe),
    "empty-payload": frame(b"", kind=0),
    "json-wrong-type": frame(json.dumps(["not", "a", "probe"]).encode()),
    "json-garbage": frame(b"{\"id\": 1, \"name\": \"x\", \"parts\": [1e999999]"),
    "truncated-payload": frame(probe)[:-5],
    "truncated-header": frame(probe)[:20],
    "oversized": frame(b"", kind=0, length=1 << 20),
    "bad-checksum": frame(probe)[:28] + b"\0\0\0\0" + probe,
    "unknown-type": frame(b"xyz", kind=9),  # 0-4 are known (4: the binary codec)
    "plain-int": frame(struct.pack("<q", 42), kind=2) ,
    "utf8": frame("héllo".encode(), kind=3),
    "reserved-set": frame(b"xyz", kind=1, reserved=b"\x01\x00\x00"),
    "bad-magic": frame(b"xyz", kind=0, magic=b"XLF1"),
}
out = sys.argv[1] if len(sys.argv) > 1 else "Fixtures/fuzz/frames"
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, "seed-" + name), "wb") as f:
        f.write(data)
