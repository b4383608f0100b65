#!/usr/bin/env python3
"""Writes the seed corpus of the binary codec (docs/codec.md) to Fixtures/fuzz/codec.

Written from the format's description, not by the Swift encoder, so the seeds also pin the
format: BinaryCodecTests decodes each of them (as `Everything` of that test or a fast-path type).
"""
import os, struct

MAGIC = bytes([0xFB, 1])
NULL, FALSE, TRUE, INT, UINT, FLOAT, DOUBLE, STRING, BYTES, ARRAY, OBJECT, NUMBERS, END = \
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0F

def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)

def i(n): return bytes([INT]) + varint((n << 1) ^ (n >> 63) if n >= 0 else ((n << 1) ^ -1) & (2**64 - 1))
def u(n): return bytes([UINT]) + varint(n)
def s(t): b = t.encode(); return bytes([STRING]) + varint(len(b)) + b
def raw(b): return bytes([BYTES]) + varint(len(b)) + bytes(b)
def d(x): return bytes([DOUBLE]) + struct.pack('<d', x)
def f(x): return bytes([FLOAT]) + struct.pack('<f', x)
def arr(*vs): return bytes([ARRAY]) + b''.join(vs) + bytes([END])
def obj(*kv): return bytes([OBJECT]) + b''.join(s(k) + v for k, v in kv) + bytes([END])
def nums(code, fmt, xs): return bytes([NUMBERS, code]) + varint(len(xs)) + b''.join(struct.pack(fmt, x) for x in xs)

def everything(missing=None, present="here"):
    fields = [
        ("int", i(-42)), ("small", i(-128)), ("big", u(2**64 - 1)), ("flag", bytes([TRUE])),
        ("ratio", f(0.25)), ("weight", d(1e300)), ("name", s("héllo, wörld")),
    ]
    if missing is not None: fields.append(("missing", i(missing)))
    if present is not None: fields.append(("present", s(present)))
    fields += [
        ("shapes", arr(obj(("dot", obj())), obj(("circle", obj(("radius", d(2.5))))),
                       obj(("labelled", obj(("_0", s("x")), ("_1", i(3))))))),
        ("table", obj(("a", nums(1, "<q", [1, 2])), ("b", nums(1, "<q", [])))),
        ("bytes", raw([0, 255, 7])), ("data", raw([1, 2, 3])),
        ("ints", nums(1, '<q', [-2**63, 0, 2**63 - 1])),
        ("doubles", nums(2, '<d', [0.5, -0.0, float('inf')])),
        ("nested", arr(arr(s("a")), arr(), arr(s("b"), s("c")))),
        ("empty", obj()),
    ]
    return MAGIC + obj(*fields)

seeds = {
    "everything.bin": everything(),
    "everything-optionals.bin": everything(missing=5, present=None),
    "byte-chunk.bin": MAGIC + arr(raw(range(256)), raw([])),
    "int-chunk.bin": MAGIC + nums(1, '<q', [0, -1, 2**63 - 1, -2**63, 42]),
    "string-chunk.bin": MAGIC + arr(s(""), s("a,b"), s("héllo"), s("{\"k\":1}")),
}
out = os.path.join(os.path.dirname(__file__), "..", "..", "Fixtures", "fuzz", "codec")
os.makedirs(out, exist_ok=True)
for name, b in seeds.items():
    with open(os.path.join(out, name), "wb") as fh: fh.write(b)
print(f"wrote {len(seeds)} seeds to {os.path.normpath(out)}")
