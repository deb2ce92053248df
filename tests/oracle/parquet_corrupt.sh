#!/usr/bin/env bash
# parquet_corrupt.sh — a corpus of damaged Parquet files, each of which
# `quern stats` must refuse with exit 1 and a one-line error naming the
# file and a byte offset: bad magic, truncated footer, footer length past
# the file, a file cut inside its data, column chunk offsets past the data,
# a corrupt compressed page, a garbled page header, a dictionary index past
# the dictionary, lying num_children, a schema nested 101 deep, empty and
# tiny files. The damaged files are made here from a good file (quern's
# writer) and from hand-built ones (test_parquet_dump corrupt).
# Env: QUERN (built quern), QN_BUILD (build tree).
set -euo pipefail
: "${QUERN:?}" "${QN_BUILD:?}"
DUMP="$QN_BUILD/tests/test_parquet_dump"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$DUMP" corrupt "$tmp"
rm "$tmp/fallback.parquet"
"$DUMP" write "$tmp/good.parquet" 20000 zstd 262144 16384
python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
g = open(f"{d}/good.parquet", "rb").read()
n = len(g)
flen = struct.unpack("<I", g[-8:-4])[0]
fstart = n - 8 - flen
def put(name, data):
    open(f"{d}/{name}.parquet", "wb").write(data)
put("bad_head_magic", b"PAR0" + g[4:])
put("truncated_footer", g[:-3])
put("footer_length_past_file", g[:-8] + struct.pack("<I", n) + b"PAR1")
put("cut_inside_data", g[: n // 2])
# drop 40% of the data region: the footer's chunk offsets now point past
# the start of the footer
cut = fstart * 4 // 10
put("offsets_past_data", g[:4] + g[4 + cut:])
# corrupt the first zstd frame (its magic number) inside a page
z = g.find(b"\x28\xb5\x2f\xfd")
assert z > 0
put("corrupt_zstd_page", g[:z] + b"\x00\x00\x00\x00" + g[z + 4:])
# the first page header replaced by bytes that are no Thrift
put("garbled_page_header", g[:4] + b"\xff" * 12 + g[16:])
put("empty", b"")
put("par_only", b"PAR")
PY
rm "$tmp/good.parquet"
fail=0
for f in "$tmp"/*.parquet; do
  set +e
  msg=$("$QUERN" stats "$f" --no-progress 2>&1 >/dev/null)
  rc=$?
  set -e
  name=$(basename "$f")
  # Files that do not start with PAR1 are refused by format detection
  # (source.c), whose message names the file and PAR1 rather than byte 0.
  want="byte"
  case $name in bad_head_magic.*|empty.*|par_only.*) want="(byte 0|PAR1)";; esac
  if [ "$rc" -ne 1 ] || ! grep -Eq "^quern: error: .*$name.*$want" <<<"$msg"; then
    echo "FAIL $name: exit $rc: $msg"
    fail=1
  else
    echo "ok   $name: $msg"
  fi
done
exit $fail
