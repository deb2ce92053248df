#!/usr/bin/env bash
# --plot writes a valid PNG of the stated size (IHDR width and height),
# atomically: a command that cannot start leaves an existing plot untouched.
set -u
QUERN=${QUERN:?path to quern}; MEMHOG=${QN_BUILD:?}/tests/memhog
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# png_size FILE: prints "W H" from the IHDR chunk, fails on a bad signature.
png_size() {
  [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG"
  [ "$(dd if="$1" bs=1 skip=12 count=4 2>/dev/null)" = "IHDR" ] || fail "$1 has no IHDR first"
  local w h
  w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  echo "$w $h"
}

"$QUERN" monitor -q --plot "$tmp/a.png" -- "$MEMHOG" 20:200 60:200 10:200 || fail "plot run failed"
[ "$(png_size "$tmp/a.png")" = "1200 675" ] || fail "default plot is $(png_size "$tmp/a.png"), not 1200 675"
size=$(stat -c %s "$tmp/a.png")
[ "$size" -gt 20000 ] && [ "$size" -lt 400000 ] || fail "plot of $size bytes: empty or absurd"

"$QUERN" monitor -q --plot "$tmp/b.png" --plot-size 800x450 --title "memhog steps" \
  -- "$MEMHOG" 20:200 || fail "sized plot run failed"
[ "$(png_size "$tmp/b.png")" = "800 450" ] || fail "--plot-size 800x450 gave $(png_size "$tmp/b.png")"

# A plot is written even when the command fails, and then quern passes on its code.
"$QUERN" monitor -q --plot "$tmp/c.png" -- "$MEMHOG" --exit 4 5:100
[ $? -eq 4 ] || fail "failing command: exit code not passed through with --plot"
[ "$(png_size "$tmp/c.png")" = "1200 675" ] || fail "no plot for a failing command"

# Never a partial or replaced file when the command cannot start.
echo "keep me" >"$tmp/old.png"
"$QUERN" monitor -q --plot "$tmp/old.png" -- quern-no-such-command-xyz 2>/dev/null
[ $? -eq 127 ] || fail "unknown command with --plot: not 127"
[ "$(cat "$tmp/old.png")" = "keep me" ] || fail "existing plot was replaced"
[ "$(ls -A "$tmp" | grep -c tmp-)" -eq 0 ] || fail "temporary files left: $(ls -A "$tmp")"
echo "ok monitor_plot"
