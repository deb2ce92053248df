#!/usr/bin/env bash
# CSV input on the command line: bad files give exit 1 and one error line
# naming the file, the line and the byte offset; a string column asked for
# by name is a usage error (exit 2); no output file is left behind and an
# existing one is untouched. Good files: header-only is 0 rows, info shows
# the inferred types, bin reads CSV too.
source "$(dirname "$0")/lib.bash"
cd "$work"
printf 'a,b\n1,2\n3\n' > short.csv
printf 'a,b\n1,2\n3,4,5\n' > long.csv
printf 'a,b\n1,2\n3,"never closed\n4,5\n' > unterminated.csv
printf 'a,b\n1,"2"x\n' > afterquote.csv
: > empty.csv
printf 'a,b,a\n1,2,3\n' > dup.csv
printf 'a,,c\n1,2,3\n' > noname.csv
printf 'a,b\n1,2\n3\0,4\n' > nul.csv
head -c 4096 /bin/sh > binary.dat
printf 'a,b\n1,caf\xe9\n' > latin1.csv
printf 'x,name\n1,"a, b"\n2,"c ""d"""\n' > strings.csv
printf 'x,y\r\n' > header_only.csv
echo '{"precious": true}' > keep.json
cp keep.json keep.orig

run_quern 1 stats short.csv -o new.json;        expect_err short.csv "line 3" "byte offset 8" "1 field" "2 columns"
run_quern 1 stats long.csv -o new.json;         expect_err long.csv "line 3" "byte offset 8" "3 fields"
run_quern 1 stats unterminated.csv -o new.json; expect_err unterminated.csv "line 3" "byte offset 10" unterminated
run_quern 1 stats afterquote.csv -o new.json;   expect_err afterquote.csv "line 2" "byte offset 9" "closing quote"
run_quern 1 stats empty.csv -o new.json;        expect_err empty.csv "empty file"
run_quern 1 stats dup.csv -o new.json;          expect_err dup.csv "duplicate column name 'a'"
run_quern 1 stats noname.csv -o new.json;       expect_err noname.csv "header column 2" "empty name"
run_quern 1 stats nul.csv -o new.json;          expect_err nul.csv "NUL byte" "line 3" "byte offset 9"
run_quern 1 stats binary.dat -o new.json;       expect_err binary.dat "not a text CSV file"
run_quern 1 stats latin1.csv -o new.json;       expect_err latin1.csv "line 2" "'b'" "UTF-8"
run_quern 2 stats strings.csv -c name -o new.json; expect_err strings.csv "'name'" "string column"
printf 'a\n1\n' > looks.parquet; : > empty.h5
run_quern 1 stats looks.parquet -o new.json;    expect_err looks.parquet "does not start with PAR1"
run_quern 1 stats empty.h5 -o new.json;         expect_err empty.h5 "no HDF5 signature"
run_quern 1 info short.csv;                     expect_err short.csv "line 3"
run_quern 1 bin long.csv --axis a:2:0:4 -o new.json; expect_err long.csv "line 3"
# a bad file in a glob of good ones is named
cp strings.csv good1.csv; cp short.csv good2.csv
run_quern 1 stats 'good*.csv' -o new.json;      expect_err good2.csv "line 3"
check "no partial output after failures" test ! -e new.json
check "no temporary files left" test -z "$(ls -A | grep tmp- || true)"
run_quern 1 stats short.csv -o keep.json
check "existing output untouched" cmp -s keep.json keep.orig

# good files
run_quern 0 stats strings.csv -o s.json
check "string column skipped, x summarised" grep -q '"sum": 3' s.json
check "string column not in the stats" test -z "$(grep '"name"' s.json || true)"
run_quern 0 stats header_only.csv
check "header-only: 0 rows" grep -q '"rows": 0' "$out"
check "header-only: count 0" grep -q '"count": 0' "$out"
run_quern 0 info strings.csv
check "info: format" grep -q "strings.csv: csv, 2 column(s)" "$out"
check "info: int64 x" grep -Eq "^  x +int64 +2 rows" "$out"
check "info: string name" grep -Eq "^  name +string +2 rows" "$out"
check "info: delimiter" grep -q 'delimiter: ","' "$out"
run_quern 0 info --json strings.csv
check "info --json: inferred reason" grep -q '"inferred": "every value is an int64"' "$out"
run_quern 0 bin strings.csv --axis x:2:0:3 -o b.json
check "bin on CSV: counts" grep -q '"count": \[1, 1\]' b.json
finish
