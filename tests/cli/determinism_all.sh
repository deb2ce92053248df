#!/usr/bin/env bash
# Every output of every command is byte-identical for --threads 1, 2 and 7
# and for --memory-limit 256M, the default, and the smallest limit that
# runs: stats JSON, bin to .json, .h5 and .csv, convert from each format
# (Parquet, HDF5, CSV) to each, gen sim and gen measurements to each.
#
# The tight limit, 44M, is the smallest that runs every one of these
# commands with 1 and 7 threads (42M: convert n.parquet; 38M: convert
# m.parquet; stats and bin need 17M to 27M; the process itself takes about
# 12 MiB), plus 2 MiB of slack for the process's own resident set, which
# varies by a few hundred KiB between runs. At 140001 rows the tables span
# 3 morsels, the last one ragged; one table has nulls in every type (int,
# float, bool, date, timestamp, string).
source "$(dirname "$0")/lib.bash"
cd "$work"
py=/usr/bin/python3
rows=140001
tight=44M
"$QUERN" gen sim --rows $rows -o s.parquet -q
"$QUERN" gen sim --rows $rows -o s.h5 -q
"$QUERN" gen sim --rows $rows -o s.csv -q
"$QUERN" gen measurements --rows $rows --keys 7000 -o m.parquet -q
"$QUERN" convert m.parquet -o m.h5 -q
"$QUERN" convert m.parquet -o m.csv -q
$py - <<'PY'
import random
random.seed(5)
with open("n.csv", "w") as f:
    f.write("i,x,ok,day,ts,s\n")
    for r in range(140001):
        null = lambda k: r % k == 3
        f.write(",".join([
            "" if null(7) else str(random.randrange(-10**15, 10**15)),
            "" if null(11) else repr(random.gauss(0, 1e3)),
            "" if null(13) else random.choice(["true", "False"]),
            "" if null(17) else "%04d-%02d-%02d" % (random.randrange(1900, 2100), random.randrange(1, 13), random.randrange(1, 29)),
            "" if null(19) else "%04d-02-28 %02d:%02d:%02d.%03d" % (random.randrange(1600, 2400), r % 24, r % 60, r % 59, r % 1000),
            "" if null(23) else '"s%d, %s"' % (r, "x" * (r % 40)),
        ]) + "\n")
PY
"$QUERN" convert n.csv -o n.parquet -q
"$QUERN" convert n.csv -o n.h5 -q

# convert: from each format to each, for the two tables with every type
# (the float-only sim table goes through gen, stats and bin)
cmds=()
for f in s.h5 s.parquet s.csv; do cmds+=("stats $f -o OUT.json"); done
for f in m.h5 m.parquet m.csv n.h5 n.parquet n.csv; do
  cmds+=("stats $f -o OUT.json")
  for o in parquet h5 csv; do cmds+=("convert $f -o OUT.$o"); done
done
for f in s.h5 s.csv; do cmds+=("bin $f -a x:50:0:1 -a v:20 -v y -s count,mean,std -o OUT.json"); done
for o in json h5 csv; do
  cmds+=("bin s.parquet -a x:50:0:1 -a v:20 -v y -s count,sum,mean,std,min,max -o OUT.$o")
done
for o in parquet h5 csv; do
  cmds+=("gen sim --rows $rows -o OUT.$o")
  cmds+=("gen measurements --rows $rows --keys 7000 -o OUT.$o")
done

n=0
for c in "${cmds[@]}"; do
  n=$((n + 1))
  ext=${c##*.}
  # shellcheck disable=SC2086 # the command is a list of words
  run_quern 0 ${c//OUT/ref$n} -t 1 -q
  for opt in "-t 2" "-t 7" "-t 2 -m 256M" "-t 7 -m $tight"; do
    # shellcheck disable=SC2086
    run_quern 0 ${c//OUT/out} $opt -q
    check "$c $opt: identical to -t 1" cmp -s "ref$n.$ext" "out.$ext"
    rm -f "out.$ext"
  done
done
check "ran every command" test "$n" = 38
# the outputs are what they claim to be
check "stats of the nullable table" $py -c "
import json; c = json.load(open('ref16.json'))['columns']
assert c['i']['null'] == 20000 and c['x']['null'] == 12728, c
assert c['ts']['type'] == 'timestamp[ms]' and c['ok']['type'] == 'bool' and c['day']['type'] == 'date', c"
check "a limit 6 MiB below the tight one is too small for some command" test "$(
  "$QUERN" convert n.parquet -o low.h5 -m $((${tight%M} - 6))M -q 2>/dev/null; echo $?)" = 3
finish
