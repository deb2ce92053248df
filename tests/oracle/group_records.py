"""group_records.py — the records quern wrote, read by independent code,
against the Parquet output of the same run as DuckDB reads it.

usage: group_records.py PROTO_DIR EXPECT.jsonl KIND_SPEC FILE...
  PROTO_DIR   where protoc put example_pb2.py (from src/io/example.proto)
  EXPECT      group_rows.mjs's rows of the Parquet file
  KIND_SPEC   name:kind,... of the list columns (num, float, str, ts_*, date, u64)
  FILE        a .tfrecord file, or the JSON line arrayrecord_walk.mjs printed
              for a .array_record file (FILE.json)

TFRecord framing is walked here and both CRCs are checked with
python3-crc32c; each record is parsed by python3-protobuf. Floats compare
as float32 (numpy narrows the double DuckDB read, bit for bit; NaN as NaN),
an unsigned 64-bit value as the int64 of its bits, booleans as 0/1.
"""
import base64
import json
import math
import struct
import sys

import crc32c
import numpy as np

sys.path.insert(0, sys.argv[1])
import example_pb2  # noqa: E402


def masked(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecords(path):
    data = open(path, "rb").read()
    p = i = 0
    while p < len(data):
        (n,) = struct.unpack_from("<Q", data, p)
        (lc,) = struct.unpack_from("<I", data, p + 8)
        assert lc == masked(crc32c.crc32c(data[p : p + 8])), f"{path}: record {i}: length CRC"
        rec = data[p + 12 : p + 12 + n]
        (dc,) = struct.unpack_from("<I", data, p + 12 + n)
        assert dc == masked(crc32c.crc32c(rec)), f"{path}: record {i}: data CRC"
        yield rec
        p += 16 + n
        i += 1
    assert p == len(data), f"{path}: trailing bytes"


def float32_bits(x):
    return struct.pack("<f", x)


def same_float(got, want_text):
    with np.errstate(over="ignore"):  # beyond float32: infinity, as in C
        want = np.float32(float(want_text))  # DuckDB's double, narrowed
    if math.isnan(want):
        return math.isnan(got)
    return float32_bits(got) == float32_bits(float(want))


def check_row(where, ex, expect, kinds):
    key, n, lists = expect
    f = ex.features.feature
    names = set(f.keys())
    assert names == {"n", kinds["__key__"][0]} | set(lists), (where, names)
    kname, kkind = kinds["__key__"]
    if kkind == "str":
        assert list(f[kname].bytes_list.value) == [key.encode()], (where, key)
    else:
        assert list(f[kname].int64_list.value) == [int(key)], (where, key)
    assert list(f["n"].int64_list.value) == [int(n)], (where, n)
    for name, want in lists.items():
        kind = kinds[name]
        feat = f[name]
        assert len(want) == int(n), (where, name)
        if kind == "float":
            assert feat.WhichOneof("kind") == "float_list", (where, name)
            got = list(feat.float_list.value)
            assert len(got) == len(want), (where, name)
            bad = [i for i, (g, w) in enumerate(zip(got, want)) if not same_float(g, w)]
            assert not bad, (where, name, bad[:3], [got[i] for i in bad[:3]], [want[i] for i in bad[:3]])
        elif kind == "str":
            assert feat.WhichOneof("kind") == "bytes_list", (where, name)
            assert [b.decode() for b in feat.bytes_list.value] == want, (where, name)
        else:
            assert feat.WhichOneof("kind") == "int64_list", (where, name)
            wi = [int(w) for w in want]
            if kind == "u64":  # the bits of an unsigned 64-bit value
                wi = [w - (1 << 64) if w >= (1 << 63) else w for w in wi]
            assert list(feat.int64_list.value) == wi, (where, name)


def main():
    expect = [json.loads(line) for line in open(sys.argv[2])]
    kinds = dict(s.split(":") for s in sys.argv[3].split(","))
    key = [k for k, v in kinds.items() if v.startswith("key_")][0]
    kinds["__key__"] = (key, kinds.pop(key)[4:])
    for path in sys.argv[4:]:
        if path.endswith(".json"):
            walked = json.load(open(path))
            recs = [base64.b64decode(r) for r in walked["records"]]
        else:
            recs = list(tfrecords(path))
        assert len(recs) == len(expect), (path, len(recs), len(expect))
        for i, (rec, want) in enumerate(zip(recs, expect)):
            ex = example_pb2.Example()
            ex.ParseFromString(rec)
            check_row(f"{path}: record {i}", ex, want, kinds)
        print(f"{path}: {len(recs)} records agree")


main()
