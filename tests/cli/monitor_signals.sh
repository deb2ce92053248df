#!/usr/bin/env bash
# SIGTERM and SIGINT sent to quern monitor reach the command; quern then
# exits with the command's status (128+N) and still writes its CSV.
set -u -m  # job control: background jobs keep SIGINT (not ignored)
QUERN=${QUERN:?path to quern}; MEMHOG=${QN_BUILD:?}/tests/memhog
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for sig in TERM INT; do
  num=$(kill -l "$sig")
  ready=$tmp/$sig.ready
  "$QUERN" monitor -o "$tmp/$sig.csv" -- "$MEMHOG" --sampled-by parent --ready "$ready" 30:60000 \
    2>"$tmp/$sig.err" &
  pid=$!
  # Signal once memhog holds its 30 MiB and quern has sampled it (memhog
  # writes $ready then), however long that takes on a busy machine.
  for _ in $(seq 6000); do
    [ -e "$ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  [ -e "$ready" ] || { kill "$pid"; fail "SIG$sig: memhog never held its 30 MiB: $(cat "$tmp/$sig.err")"; }
  start=$(date +%s.%N)
  kill -s "$sig" "$pid"
  wait "$pid"
  got=$?
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  [ "$got" -eq $((128 + num)) ] || fail "SIG$sig: quern exited $got, expected $((128 + num)); $(cat "$tmp/$sig.err")"
  [ "$(echo "$elapsed < 20" | bc)" -eq 1 ] || fail "SIG$sig: quern took $elapsed s to finish after the signal"
  grep -q "killed by signal $num" "$tmp/$sig.err" || fail "SIG$sig: summary: $(cat "$tmp/$sig.err")"
  awk -F, 'NR>1 && $2>m {m=$2} END{exit !(m > 29*1048576)}' "$tmp/$sig.csv" \
    || fail "SIG$sig: CSV lacks the 30 MiB samples: $(head "$tmp/$sig.csv")"
  [ -z "$(pgrep -f -- "--ready $ready")" ] || fail "SIG$sig: memhog still running"
done
echo "ok monitor_signals"
