#!/usr/bin/env bash
# quern monitor reports the memory a command really holds: memhog holds
# 50 MiB, 200 MiB, then 20 MiB (released with munmap); with --fork a child
# does the same in lockstep. The peak must be within 5% of the truth and the
# three steps must appear in the CSV in order. memhog starts a step's hold
# only once its memory is resident and quern has sampled it
# (--sampled-by), so the test checks the monitor, not the scheduler: it
# passes on a machine whose cores are all busy.
set -u
QUERN=${QUERN:?path to quern}; MEMHOG=${QN_BUILD:?}/tests/memhog
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
MiB=1048576

# check_run CSV SUMMARY FACTOR: the memhog steps times FACTOR processes.
check_run() {
  local csv=$1 summary=$2 k=$3
  [ "$(head -1 "$csv")" = "t_s,rss_bytes,processes" ] || fail "CSV header is '$(head -1 "$csv")'"
  awk -F, 'NR>1 && !/^[0-9]+\.[0-9][0-9][0-9],[0-9]+,[0-9]+$/ {bad=1} END{exit bad}' "$csv" \
    || fail "malformed CSV row in $csv"
  local peak
  peak=$(awk -F, 'NR>1 && $2>m {m=$2} END{print m+0}' "$csv")
  awk -v p="$peak" -v t=$((200 * k * MiB)) 'BEGIN{d=p-t; if (d<0) d=-d; exit !(d <= 0.05*t)}' \
    || fail "CSV peak $((peak / MiB)) MiB is not within 5% of $((200 * k)) MiB"
  # Steps in order: a sample near 50k, later one near 200k, later one near 20k MiB.
  awk -F, -v k="$k" -v M=$MiB 'NR>1 {
      m = $2 / M
      if (s == 0 && m > 50*k - 2 && m < 50*k + 2.5*k) s = 1
      else if (s == 1 && m > 200*k*0.95 && m < 200*k*1.05) s = 2
      else if (s == 2 && m > 20*k - 1 && m < 20*k + 2.5*k) s = 3
    } END { exit s != 3 }' "$csv" \
    || { cat "$csv" >&2; fail "the 50 -> 200 -> 20 MiB (x$k) steps are not all in the CSV in order"; }
  # The summary's peak agrees with the CSV (printed with one decimal).
  local said
  said=$(awk '$1=="peak" {print $2, $3}' "$summary")
  case "$said" in *MiB) ;; *) fail "summary peak '$said' not in MiB: $(cat "$summary")" ;; esac
  awk -v s="${said% MiB}" -v p="$peak" -v M=$MiB 'BEGIN{d=s-p/M; if (d<0) d=-d; exit !(d<0.06)}' \
    || fail "summary peak $said differs from the CSV peak $((peak / MiB)) MiB"
  grep -q '^  exit      0$' "$summary" || fail "summary has no 'exit 0': $(cat "$summary")"
}

"$QUERN" monitor -o "$tmp/one.csv" -- "$MEMHOG" --sampled-by parent 50:400 200:400 20:400 2>"$tmp/one.err" \
  || fail "monitor of memhog exited $?: $(cat "$tmp/one.err")"
check_run "$tmp/one.csv" "$tmp/one.err" 1
awk -F, 'NR>1 && $3!=1 {exit 1}' "$tmp/one.csv" || fail "one memhog process, but processes != 1"

"$QUERN" monitor --interval 40 -o "$tmp/two.csv" -- \
  "$MEMHOG" --fork --sampled-by parent 50:400 200:400 20:400 \
  2>"$tmp/two.err" || fail "monitor of memhog --fork exited $?: $(cat "$tmp/two.err")"
check_run "$tmp/two.csv" "$tmp/two.err" 2
awk -F, 'NR>1 && $3==2 {n++} END{exit !(n>5)}' "$tmp/two.csv" \
  || fail "memhog --fork runs two processes, but few samples count 2"
grep -q 'peak .* 2 processes' "$tmp/two.err" || fail "summary does not say 2 processes at the peak"

# A grandchild orphaned by its shell is still counted (quern is a subreaper).
# The shell ends once memhog holds its 100 MiB and quern (\$PPID) sampled it.
"$QUERN" monitor -o "$tmp/orphan.csv" -- bash -c "( \"$MEMHOG\" --sampled-by \$PPID \
  --ready '$tmp/orphan.ready' 100:1500 & ); until [ -e '$tmp/orphan.ready' ]; do sleep 0.01; done" \
  2>"$tmp/orphan.err" || fail "orphan run exited $?"
awk -F, 'NR>1 && $2>m {m=$2} END{exit !(m > 95*1048576)}' "$tmp/orphan.csv" \
  || fail "orphaned memhog (100 MiB) not counted: $(cat "$tmp/orphan.csv")"

# Processes that start and end between samples break nothing.
"$QUERN" monitor --interval 1 -o "$tmp/churn.csv" -- bash -c 'for i in $(seq 300); do /bin/true; done' \
  2>"$tmp/churn.err" || fail "churn run exited $?: $(cat "$tmp/churn.err")"
[ "$(wc -l <"$tmp/churn.csv")" -gt 3 ] || fail "churn run has almost no samples"
awk -F, 'NR>1 && !/^[0-9]+\.[0-9][0-9][0-9],[0-9]+,[0-9]+$/ {exit 1}' "$tmp/churn.csv" || fail "churn CSV malformed"

# -q: nothing on stderr.
"$QUERN" monitor -q -- "$MEMHOG" 1:10 2>"$tmp/q.err" || fail "-q run failed"
[ ! -s "$tmp/q.err" ] || fail "-q printed: $(cat "$tmp/q.err")"
echo "ok monitor_memory"
