#!/usr/bin/env bash
# quern group and quern verify from the command line: the same bytes for
# every file (manifest included) whatever the threads, memory limit and
# spill directory; a limit below the largest group exits 3 naming the key;
# bad input gets one error line, exit 2 and no output; an existing
# directory is untouched without --force and replaced with it; kill -9
# leaves no output directory, and the next run leaves no spill files;
# verify catches a flipped byte, a truncated file, a missing file and an
# edited manifest count.
source "$(dirname "$0")/lib.bash"
cd "$work"
mkdir spillA spillB
run_quern 0 gen measurements --rows 400000 --keys 15000 -o m.parquet
run_quern 0 convert m.parquet -o m.h5

# ----- determinism -----
ref=""
for t in 1 2 7; do
  for m in 64M 256M default; do
    for sp in spillA spillB; do
      [ "$t" = 2 ] || [ "$sp" = spillA ] || continue # the two spill dirs at -t 2
      lim=(); [ "$m" = default ] || lim=(-m "$m")
      rm -rf out
      run_quern 0 group m.parquet --key probe_id --order ts -o out --split train=0.9,test=0.1 \
        --shards 2 -t "$t" "${lim[@]}" --spill-dir "$sp"
      sums=$(cd out && sha256sum manifest.json *.parquet)
      if [ -z "$ref" ]; then ref=$sums; fi
      check "same bytes at -t $t -m $m --spill-dir $sp" test "$sums" = "$ref"
      check "no spill files left in $sp" test -z "$(ls -A "$sp")"
    done
  done
done
check "5 files (2 splits x 2 shards + manifest)" test "$(ls out | wc -l)" = 5
check "verify passes" "$QUERN" verify out
check "manifest totals" /usr/bin/python3 -c "
import json; m=json.load(open('out/manifest.json'))
assert m['rows']==400000 and m['groups']==15000 and m['null_key_rows']==0
assert sum(s['rows'] for s in m['splits'])==400000
assert abs(m['splits'][1]['groups']/15000-0.1)<0.02, m['splits'][1]['groups']
for s in m['splits']:
  assert s['row_bytes']['min']<=s['row_bytes']['mean']<=s['row_bytes']['max']
  assert len(s['files'])==2 and all(len(f['xxh3_128'])==32 for f in s['files'])"
# HDF5 input of the same rows: the same Parquet files (inputs differ in the manifest);
# the Parquet run takes the key range from the column statistics, the HDF5
# run from a scan of the keys
rm -rf outh
run_quern 0 group m.h5 --key probe_id --order ts -o outh --split train=0.9,test=0.1 --shards 2
for f in out/*.parquet; do check "HDF5 input gives $(basename "$f")" cmp "$f" "outh/$(basename "$f")"; done

# ----- a partition too large for the limit: re-split, streamed, the same bytes -----
# 99.99% of the keys in [0, 1000), one at 10^12: every row but one lands in
# the first of the 256 key-range partitions, which does not fit 40M alone
/usr/bin/python3 - <<'PY'
import numpy as np
n = 400000
i = np.arange(n)
k = (i * 7919) % 1000
k[123] = 10**12
t = (i * 31) % 97 * 1.0
np.savetxt('skew.csv', np.column_stack([k, t, i * 0.5]), fmt=['%d', '%.1f', '%.1f'],
           delimiter=',', header='k,t,v', comments='')
PY
run_quern 0 convert skew.csv -o skew.parquet
run_quern 0 group skew.parquet --key k --order t -o skew_def --split a=0.5,b=0.5
for t in 1 2; do
  rm -rf skew_small
  run_quern 0 group skew.parquet --key k --order t -o skew_small --split a=0.5,b=0.5 -m 40M -t $t --spill-dir spillB
  check "skewed keys in 40M (-t $t): the same bytes" test "$(cd skew_small && sha256sum *)" = "$(cd skew_def && sha256sum *)"
done
check "no spill files left after the re-split" test -z "$(ls -A spillB)"

# ----- bounded -----
run_quern 0 gen measurements --rows 1500000 --keys 2 -o two.parquet
run_quern 3 group two.parquet --key probe_id --order ts -o big -m 48M
expect_err "key 100000" "probe_id" "needs at least" "--memory-limit"
check "no output after exit 3" test ! -e big
check "no temporary output" test -z "$(ls -A | grep quern-tmp || true)"

# ----- bad input -----
run_quern 2 group m.parquet --key nope -o bad;                       expect_err "nope" "key"
run_quern 2 group m.parquet -o bad;                                  expect_err "--key"
run_quern 2 group m.parquet --key value -o bad;                      expect_err "value" "float64"
run_quern 2 group m.parquet --key probe_id --order label -o bad;     expect_err "label" "string"
run_quern 2 group m.parquet --key probe_id --order nope -o bad;      expect_err "nope"
run_quern 2 group m.parquet --key probe_id -c ts,ts -o bad;          expect_err "twice"
run_quern 2 group m.parquet --key probe_id --split a=0.5,b=0.6 -o bad; expect_err "sum to 1"
run_quern 2 group m.parquet --key probe_id --split a=-0.5,b=1.5 -o bad; expect_err "fraction"
run_quern 2 group m.parquet --key probe_id --split a=0.5,a=0.5 -o bad; expect_err "twice"
run_quern 2 group m.parquet --key probe_id --split 'a/b=1' -o bad;   expect_err "split name"
run_quern 2 group m.parquet --key probe_id --shards 0 -o bad;        expect_err "--shards"
run_quern 2 group m.parquet --key probe_id --format feather -o bad;  expect_err "feather"
run_quern 1 group m.parquet --key probe_id -o bad --spill-dir /nonexistent/x; expect_err "spill"
run_quern 2 group missing.parquet --key probe_id -o bad;             expect_err "missing.parquet"
check "no output from bad input" test ! -e bad
check "no temporary output from bad input" test -z "$(ls -A | grep quern- || true)"

# ----- existing directories -----
mkdir keep && echo mine > keep/file.txt
run_quern 2 group m.parquet --key probe_id -o keep;            expect_err "keep" "force"
check "a directory not ours is untouched" test "$(cat keep/file.txt)" = mine
run_quern 2 group m.parquet --key probe_id -o keep --force;    expect_err "not a quern output"
check "... even with --force" test "$(cat keep/file.txt)" = mine
run_quern 2 group m.parquet --key probe_id -o out;             expect_err "force"
check "an existing output is untouched without --force" test "$(cd out && sha256sum manifest.json *.parquet)" = "$ref"
run_quern 0 group m.parquet --key probe_id -c value -o out --force
check "--force replaced it" test "$(ls out)" = "$(printf 'all-00000-of-00001.parquet\nmanifest.json')"
mkdir empty
run_quern 0 group m.parquet --key probe_id -c value -o empty
check "an empty directory is filled" test -f empty/manifest.json

# ----- kill -9 midway -----
run_quern 0 gen measurements --rows 6000000 --keys 200000 -o k.parquet
"$QUERN" group k.parquet --key probe_id --order ts -o killed -m 96M --spill-dir spillA -t 1 --no-progress &
pid=$!
for _ in $(seq 1 2400); do # wait (up to 2 min) until it has spilled something
  if ls spillA/.quern-spill-*/w000.run >/dev/null 2>&1; then break; fi
  sleep 0.05
done
check "killed while running (pass 1 spilling)" kill -9 "$pid"
wait "$pid" || true
check "no output directory after kill -9" test ! -e killed
run_quern 0 group m.parquet --key probe_id -c value -o after --spill-dir spillA
check "the next run removed the stale spill files" test -z "$(ls -A spillA)"
check "and the stale temporary output" test -z "$(ls -A | grep killed || true)"

# ----- verify finds damage -----
cp -r out v1 && printf 'Z' | dd of=v1/all-00000-of-00001.parquet bs=1 seek=100 conv=notrunc 2>/dev/null
run_quern 1 verify v1
check "flipped byte named" grep -q "all-00000-of-00001.parquet.*XXH3" "$out"
cp -r out v2 && truncate -s 1000 v2/all-00000-of-00001.parquet
run_quern 1 verify v2
check "truncation named" grep -q "all-00000-of-00001.parquet.*1000 bytes" "$out"
cp -r out v3 && rm v3/all-00000-of-00001.parquet
run_quern 1 verify v3
check "missing file named" grep -q "all-00000-of-00001.parquet: is missing" "$out"
cp -r out v4 && sed -i 's/"groups": 15000,/"groups": 15001,/' v4/manifest.json
run_quern 1 verify v4
check "edited count found" grep -q "manifest.json.*15000.*15001\|15001" "$out"
run_quern 0 verify out/manifest.json
run_quern 2 verify;                  expect_err "no directory"
run_quern 2 verify nothere;          expect_err "nothere"
finish
