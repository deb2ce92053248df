#!/usr/bin/env bash
# quern group --format tfrecord|arrayrecord from the command line: the same
# bytes for every file (manifest included) whatever the threads and memory
# limit, also with zstd chunks of 16 records; the manifest names the format,
# the codec and the lists narrowed to float32; quern verify passes and,
# for a flipped byte, names the file and the record or chunk that holds
# it (TFRecord: the record found by walking the framing here; ArrayRecord:
# a chunk whose bytes span the flipped one, a block header, the footer);
# nulls in a list, a column named n and a codec the format does not have
# get one error line and no output.
source "$(dirname "$0")/lib.bash"
cd "$work"
run_quern 0 gen measurements --rows 300000 --keys 9000 -o m.parquet

# ----- determinism -----
for fmt in tfrecord arrayrecord arrayrecord:zstd,group_size:16; do
  codec=()
  [ "${fmt#*:}" = "$fmt" ] || codec=(--codec "${fmt#*:}")
  ref=""
  for t in 1 2 7; do
    for m in 64M 256M default; do
      lim=(); [ "$m" = default ] || lim=(-m "$m")
      rm -rf out
      run_quern 0 group m.parquet --key probe_id --order ts -o out --split train=0.9,test=0.1 \
        --shards 2 -t "$t" "${lim[@]}" --format "${fmt%%:*}" "${codec[@]}"
      sums=$(cd out && sha256sum manifest.json *-of-*)
      if [ -z "$ref" ]; then ref=$sums; fi
      check "$fmt: same bytes at -t $t -m $m" test "$sums" = "$ref"
    done
  done
  check "$fmt: 4 files and the manifest" test "$(ls out | wc -l)" = 5
  check "$fmt: verify passes" "$QUERN" verify out
  mv out "out-${fmt%%:*}${codec[*]:+-zstd}"
done
check "file names" test -f out-tfrecord/train-00001-of-00002.tfrecord -a \
  -f out-arrayrecord/test-00000-of-00002.array_record
check "manifest: format, codec, narrowed lists" /usr/bin/python3 -c "
import json
for d, fmt, codec in (('out-tfrecord', 'tfrecord', 'none'), ('out-arrayrecord', 'arrayrecord', 'none'),
                      ('out-arrayrecord-zstd', 'arrayrecord', 'zstd,group_size:16')):
  m = json.load(open(d + '/manifest.json'))
  assert m['format'] == fmt and m['options']['codec'] == codec, (d, m['format'], m['options'])
  assert m['narrowed_to_float32'] == ['value'], m['narrowed_to_float32']
  assert m['rows'] == 300000 and m['groups'] == 9000
  assert all(f['path'].endswith('.' + fmt.replace('arrayrecord', 'array_record'))
             for s in m['splits'] for f in s['files'])"
check "zstd chunks are smaller" test "$(du -sb out-arrayrecord-zstd | cut -f1)" -lt \
  "$(du -sb out-arrayrecord | cut -f1)"
check "the footer says what the writer did" grep -qa \
  'group_size:1,transpose:false,pad_to_block_boundary:false,uncompressed,max_parallelism:1' \
  out-arrayrecord/train-00000-of-00002.array_record

# ----- a flipped byte -----
flip() { # FILE OFFSET: xor one byte
  /usr/bin/python3 -c "
import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, 'rb').read())
b[o] ^= 0x20; open(p, 'wb').write(b)" "$1" "$2"
}
f=train-00000-of-00002.tfrecord
# the record holding byte 100000, and where it starts, from the framing
read -r rec at < <(/usr/bin/python3 -c "
import struct; d = open('out-tfrecord/$f', 'rb').read(); p = i = 0
while p + 16 + struct.unpack_from('<Q', d, p)[0] <= 100000: p += 16 + struct.unpack_from('<Q', d, p)[0]; i += 1
print(i, p)")
rm -rf c && cp -r out-tfrecord c && flip "c/$f" 100000
run_quern 1 verify c
check "tfrecord: the flipped record is named (record $rec at byte $at)" \
  grep -q "^$f: record $rec at byte $at: the CRC-32C of its .* bytes of data does not match" "$out"
check "tfrecord: and the file's checksum" grep -q "^$f: XXH3-128 is .* (altered)" "$out"
rm -rf c && cp -r out-tfrecord c && flip "c/$f" 3
run_quern 1 verify c
check "tfrecord: a flipped length" grep -q "^$f: record 0 at byte 0: the CRC-32C of its length" "$out"

f=train-00000-of-00002.array_record
size=$(stat -c %s "out-arrayrecord/$f")
rm -rf c && cp -r out-arrayrecord c && flip "c/$f" 100000
run_quern 1 verify c
check "arrayrecord: the chunk holding byte 100000 is named" /usr/bin/python3 -c "
import re, sys
m = re.search(r'^$f: chunk (\d+) at byte (\d+) \(record (\d+)\): the data hash does not match',
              open('$out').read(), re.M)
assert m, open('$out').read()
k, at, rec = map(int, m.groups())
assert at <= 100000 < at + 4096 and rec == k - 1, m.groups()"
rm -rf c && cp -r out-arrayrecord c && flip "c/$f" $((65536 + 5))
run_quern 1 verify c
check "arrayrecord: a flipped block header" \
  grep -q "^$f: block header at byte 65536 (in chunk [0-9]* at byte [0-9]*.*): its hash does not match" "$out"
rm -rf c && cp -r out-arrayrecord c && flip "c/$f" $((size - 65536 - 65536 + 100))
run_quern 1 verify c
check "arrayrecord: a flipped byte near the end is in the footer or its padding" \
  grep -qE "^$f: chunk [0-9]+ at byte [0-9]+ \((the footer|padding)\): the data hash does not match" "$out"
rm -rf c && cp -r out-arrayrecord c && flip "c/$f" $((size - 65536 + 24 + 2))
run_quern 1 verify c
check "arrayrecord: a flipped postscript header" \
  grep -q "^$f: chunk [0-9]* at byte $((size - 65536)): the chunk header's hash does not match" "$out"
rm -rf c && cp -r out-arrayrecord-zstd c && flip "c/$f" 3000
run_quern 1 verify c
check "arrayrecord zstd: the chunk of 16 records is named" \
  grep -qE "^$f: chunk 1 at byte 64 \(records 0 to 15\): the data hash does not match" "$out"

# ----- what records cannot hold -----
printf 'k,n,v\n1,2,3.5\n1,3,\n2,4,1\n' > nul.csv
run_quern 1 group nul.csv --key k -c v -o bad --format tfrecord
expect_err "column 'v' holds a null in the row of k 1" "write Parquet"
run_quern 1 group nul.csv --key k -c v -o bad --format arrayrecord
expect_err "column 'v' holds a null"
run_quern 2 group nul.csv --key k -o bad --format arrayrecord
expect_err "column 'n'" "-c"
run_quern 2 group m.parquet --key probe_id -o bad --format tfrecord --codec zstd
expect_err "tfrecord" "zstd"
run_quern 2 group m.parquet --key probe_id -o bad --format arrayrecord --codec snappy
expect_err "snappy" "group_size"
run_quern 2 group m.parquet --key probe_id -o bad --format arrayrecord --codec group_size:0
expect_err "group_size"
check "no output from what records cannot hold" test ! -e bad
check "no temporary output" test -z "$(ls -A | grep quern- || true)"
finish
