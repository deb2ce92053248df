#!/usr/bin/env bash
# Damaged HDF5 files: whatever is wrong, stderr is exactly one line,
# `quern: error: FILE: ...` (libhdf5's own error stack never reaches the
# user, from any thread), the exit code is 1 (2 for a missing dataset) and
# no output file appears. h5py writes gzip, shuffle and fletcher32 chunks;
# bytes are then flipped inside one chunk (found with h5py's chunk index),
# or the file is cut, or only its signature is real. QUERN_DEBUG=hdf5 shows
# libhdf5's stack again, as docs/cli.md says.
source "$(dirname "$0")/lib.bash"
cd "$work"
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(11)
n = 20000
with h5py.File("good.h5", "w") as f:
    f.create_dataset("gz", data=rng.normal(size=n), chunks=(2000,), compression="gzip")
    f.create_dataset("f32", data=rng.normal(size=n), chunks=(2000,), fletcher32=True)
    f.create_dataset("shuf", data=np.arange(n, dtype="i8"), chunks=(2000,), shuffle=True,
                     compression="gzip", fletcher32=True)
    f.create_dataset("m", data=rng.normal(size=(n, 3)), chunks=(2000, 3), compression="gzip")
    f.create_dataset("names", data=np.array([b"p%d" % i for i in range(n)]), chunks=(2000,),
                     compression="gzip")
    t = np.zeros(n, dtype=[("a", "f8"), ("b", "i4")])
    t["a"] = rng.normal(size=n)
    t["b"] = np.arange(n)
    f.create_dataset("table", data=t, chunks=(2000,), compression="gzip")
    f.create_dataset("plain", data=rng.normal(size=n))

def damage(dst, name, chunk):
    """Flips 16 bytes in the middle of chunk `chunk` of dataset `name`."""
    with h5py.File("good.h5", "r") as f:
        info = f[name].id.get_chunk_info(chunk)
    b = bytearray(open("good.h5", "rb").read())
    mid = info.byte_offset + info.size // 2
    for i in range(mid, mid + 16):
        b[i] ^= 0xFF
    open(dst, "wb").write(b)

damage("gzip.h5", "gz", 5)
damage("fletcher.h5", "f32", 7)
damage("shuffle.h5", "shuf", 3)
damage("twod.h5", "m", 4)
damage("strings.h5", "names", 2)
damage("compound.h5", "table", 6)
PY
size=$(stat -c %s good.h5)
head -c $((size / 2)) good.h5 >half.h5
head -c 3000 good.h5 >head.h5
{ printf '\211HDF\r\n\032\n'; head -c 4000 /dev/zero | tr '\0' 'q'; } >signature.h5

# one_line FILE TEXT...: stderr is exactly one line, 'quern: error: FILE: ...',
# containing every TEXT, and libhdf5 printed nothing.
one_line() {
  local file=$1 text; shift
  if [ "$(wc -l <"$err")" != 1 ] || ! grep -q "^quern: error: $file: " "$err"; then
    echo "FAIL: stderr is not one 'quern: error: $file: ...' line:"; sed 's/^/  /' "$err" | head -8
    fails=$((fails + 1)); return 0
  fi
  for text in "$@"; do
    grep -qF -- "$text" "$err" || { echo "FAIL: '$(cat "$err")' lacks '$text'"; fails=$((fails + 1)); }
  done
}

run_quern 0 stats good.h5 -o good.json
check "the undamaged file reads" grep -q '"rows": 20000' good.json

for t in 1 2; do # the library read path runs on the scan's reader thread
  run_quern 1 stats gzip.h5 -t $t -o out.json;        one_line gzip.h5 "'gz'" "inflate() failed"
  run_quern 1 stats fletcher.h5 -t $t -o out.json;    one_line fletcher.h5 "'f32'" Fletcher32
  run_quern 1 stats shuffle.h5 -t $t -c shuf;         one_line shuffle.h5 "'shuf'"
  run_quern 1 stats twod.h5 -t $t -c 'm[1]';          one_line twod.h5 "'m[1]'"
  run_quern 1 stats compound.h5:/table -t $t;         one_line compound.h5 "'a'" "inflate() failed"
  run_quern 1 bin gzip.h5 -t $t -a gz:10:-3:3 -o out.json;  one_line gzip.h5 "'gz'"
  run_quern 1 bin fletcher.h5 -t $t -a plain:10 -v f32 -s mean;  one_line fletcher.h5 "'f32'"
done
run_quern 1 convert gzip.h5 -o out.parquet;            one_line gzip.h5 "'gz'"
run_quern 1 convert fletcher.h5 -c f32 -o out.csv;      one_line fletcher.h5 "'f32'"
run_quern 1 convert strings.h5 -c names -o out.csv;     one_line strings.h5 "'names'"
check "no output file after the failures" test ! -e out.json -a ! -e out.parquet -a ! -e out.csv

for f in half.h5 head.h5 signature.h5; do
  run_quern 1 stats $f -o out.json;  one_line $f "cannot be opened"
  run_quern 1 info $f;               one_line $f "cannot be opened"
  run_quern 1 bin $f -a x:4:0:1;     one_line $f "cannot be opened"
done
run_quern 1 stats half.h5;             one_line half.h5 "truncated file"
run_quern 2 stats good.h5:/nope;       one_line good.h5 "'/nope'"
run_quern 2 info good.h5:/nope;        one_line good.h5 "'/nope'"
run_quern 2 stats good.h5 -c nope;     one_line good.h5 "'nope'"

# Any single damaged byte in the metadata (superblock, object headers,
# B-trees, heaps: the first 8 KiB here) gives a clean result or one line.
for off in $(seq 0 181 8191); do
  cp good.h5 flip.h5
  printf '\245' | dd of=flip.h5 bs=1 seek=$off conv=notrunc status=none
  for cmd in stats info; do
    rc=0; "$QUERN" $cmd flip.h5 >"$out" 2>"$err" || rc=$?
    if [ $rc -gt 3 ] || { [ $rc = 0 ] && [ -s "$err" ]; }; then
      echo "FAIL: byte $off flipped: quern $cmd exited $rc"; sed 's/^/  /' "$err" | head -5
      fails=$((fails + 1))
    elif [ $rc != 0 ]; then
      one_line flip.h5
    fi
  done
done

# The documented switch brings libhdf5's stack back.
rc=0; QUERN_DEBUG=hdf5 "$QUERN" stats gzip.h5 >"$out" 2>"$err" || rc=$?
check "QUERN_DEBUG=hdf5: exit 1 (rc=$rc)" test $rc = 1
check "QUERN_DEBUG=hdf5 shows libhdf5's error stack" grep -q '^HDF5-DIAG: Error detected' "$err"
check "QUERN_DEBUG=hdf5 still ends with quern's line" grep -q '^quern: error: gzip.h5: ' "$err"
finish
