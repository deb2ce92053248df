#!/usr/bin/env bash
# CSV columns of timestamps, dates and booleans, end to end: `quern info`
# shows the inferred types and why, `quern stats` summarises them (as the
# integers they are stored as), convert keeps them (CSV -> Parquet -> CSV
# gives the same text), timestamps of several CSV files are read in the
# finest unit of any of them, and Parquet (or HDF5) files whose timestamp
# units differ are a schema error (exit 2) instead of mixed units.
source "$(dirname "$0")/lib.bash"
cd "$work"
py=/usr/bin/python3
cat > t.csv <<'CSV'
ts,day,ok,ms,txt
2024-02-29 12:00:00,2024-02-29,true,1969-12-31 23:59:59.999,2025-02-30
1969-12-31 23:59:59,1970-01-01,False,2000-01-01T00:00:00.5Z,x
,,,,
CSV
run_quern 0 info --json t.csv
check "info: types and reasons" $py -c "
import json; c = {x['name']: x for x in json.load(open('$out'))['columns']}
assert c['ts']['type'] == 'timestamp[us]', c['ts']
assert c['ts']['inferred'] == 'every value is a timestamp, none with a fraction: timestamp[us]'
assert c['day']['type'] == 'date' and c['ok']['type'] == 'bool', c
assert c['ms']['type'] == 'timestamp[ms]' and c['ms']['nulls'] == 1
assert c['txt']['type'] == 'string' and c['txt']['inferred'] == 'string: first non-number at line 2'"
run_quern 0 stats t.csv -o s.json
check "stats of timestamp, date and bool columns" $py -c "
import json; c = json.load(open('s.json'))['columns']
assert c['ts']['min'] == -1000000 and c['ts']['max'] == 1709208000000000, c['ts']
assert c['day']['min'] == 0 and c['day']['max'] == 19782 and c['day']['null'] == 1
assert c['ok']['sum'] == 1 and c['ok']['count'] == 2
assert c['ms']['min'] == -1 and c['ms']['max'] == 946684800500"
run_quern 0 convert t.csv -o t.parquet
run_quern 0 convert t.parquet -o t2.csv
run_quern 0 convert t2.csv -o t3.parquet
run_quern 0 convert t3.parquet -o t4.csv
check "CSV -> Parquet -> CSV -> Parquet -> CSV: the same text" cmp -s t2.csv t4.csv
check "CSV text as written by quern" grep -qx '1969-12-31 23:59:59.000000,1970-01-01,false,2000-01-01 00:00:00.500,x' t2.csv
check "Parquet files identical" cmp -s t.parquet t3.parquet

printf 'ts\n2024-01-01 00:00:00.123\n' > a.csv
printf 'ts\n2024-01-01 00:00:00.123456789\n' > b.csv
run_quern 0 convert a.csv b.csv -o ab.csv
check "units unified to the finest" test "$(cat ab.csv)" = "$(printf 'ts\n2024-01-01 00:00:00.123000000\n2024-01-01 00:00:00.123456789')"
printf 'ts\n2300-01-01 00:00:00.5\n' > far.csv
run_quern 1 convert far.csv b.csv -o x.csv; expect_err far.csv "line 2" "timestamp[ns]"
check "no partial output" test ! -e x.csv
run_quern 0 convert a.csv -o a.parquet
run_quern 0 convert b.csv -o b.parquet
run_quern 2 stats a.parquet b.parquet; expect_err b.parquet a.parquet "'ts'" "timestamp[ns]" "timestamp[ms]"
run_quern 0 convert a.csv -o a.h5
run_quern 2 stats a.h5 b.parquet; expect_err b.parquet a.h5 "timestamp[ms]"
run_quern 2 stats a.csv b.parquet; expect_err b.parquet a.csv "timestamp[ns]"
finish
