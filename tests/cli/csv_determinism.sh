#!/usr/bin/env bash
# quern stats and bin on CSV input write the same bytes for --threads 1, 2
# and 7 and for --memory-limit 64M (where the reader's range cache is
# squeezed) as by default, for one file and for several files as one table.
# The files have nulls, quoted fields with newlines, CRLF rows and several
# morsels, so row ends inside quotes must be found the same way every time.
source "$(dirname "$0")/lib.bash"
cd "$work"
/usr/bin/python3 - <<'PY'
import random
random.seed(7)
for k, n in enumerate((300_001, 65_536, 131_073)):
    with open(f"t{k}.csv", "w", newline="") as f:
        f.write("x,k,note,y\n")
        for i in range(n):
            x = "" if i % 97 == 5 else repr(1e6 + random.gauss(0, 1))
            note = f'"row {i}\nsays ""hi"", ok"' if i % 1000 == 1 else f"r{i}"
            end = "\r\n" if i % 3 == 0 else "\n"
            f.write(f"{x},{random.randrange(-10**12, 10**12)},{note},{random.random()!r}{end}")
PY
run_quern 0 stats t0.csv -o ref1.json --threads 1
run_quern 0 stats 't*.csv' -o refall.json --threads 1 --per-file
run_quern 0 bin 't*.csv' --axis y:50:0:1 --value x --stat count,mean,std -o refbin.json --threads 1
check "rows of t0" grep -q '"rows": 300001' ref1.json
check "rows of all" grep -q '"rows": 496610' refall.json
check "nulls counted" grep -q '"null": 3093' ref1.json
for opt in "--threads 2" "--threads 7" "--memory-limit 64M" "--threads 7 --memory-limit 64M"; do
  run_quern 0 stats t0.csv -o a.json $opt
  check "stats t0 identical with $opt" cmp -s a.json ref1.json
  run_quern 0 stats 't*.csv' -o b.json --per-file $opt
  check "stats of 3 files identical with $opt" cmp -s b.json refall.json
  run_quern 0 bin 't*.csv' --axis y:50:0:1 --value x --stat count,mean,std -o c.json $opt
  check "bin identical with $opt" cmp -s c.json refbin.json
done
finish
