#!/usr/bin/env bash
# quern convert stops cleanly when writing fails (the file size limit
# makes write(2) fail with EFBIG part way through) or when reading fails
# part way (a corrupt page header in the last row group): exit 1, one
# error line naming the file, no output and no temporary file left, for
# 1, 2 and 7 threads (the appender thread writes while the scan runs; an
# error on either side stops both).
source "$(dirname "$0")/lib.bash"
cd "$work"
"$QUERN" gen measurements --rows 200000 --keys 5000 -o m.parquet -q
for th in 1 2 7; do
  for o in parquet csv; do
    # an ignored SIGXFSZ is inherited: write(2) then fails with EFBIG
    rc=0
    (trap '' XFSZ; ulimit -f 1500; exec "$QUERN" convert m.parquet -o "out.$o" -t $th -q) 2>"$err" || rc=$?
    check "write failure -> $o, -t $th: exit 1 (got $rc)" test "$rc" = 1
    expect_err "out.$o" "cannot write" "File too large"
  done
done
off=$(node "$QN_SRC/tests/node/sql.mjs" "SELECT max(data_page_offset) AS o FROM parquet_metadata('m.parquet') WHERE path_in_schema = 'value'" | grep -o '[0-9][0-9]*')
cp m.parquet bad.parquet
printf '\x19\x99\x99\x99\x99\x99' | dd of=bad.parquet bs=1 seek="$off" conv=notrunc status=none
for th in 1 2 7; do
  run_quern 1 convert bad.parquet -o out.parquet -t $th -q
  expect_err bad.parquet "corrupt Parquet page header" "column value"
done
check "no output, no temporary file" test -z "$(ls -A | grep -v -e '^m.parquet$' -e '^bad.parquet$' -e '^\.std' || true)"
finish
