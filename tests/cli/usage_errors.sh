#!/usr/bin/env bash
# Usage errors of every command: exit code 2 and stderr exactly one line,
# `quern: error: ...`, naming the option that is unknown, ambiguous, missing
# its value or given a value it does not take (getopt's own message must not
# appear), and pointing at the command's --help.
source "$(dirname "$0")/lib.bash"
cd "$work"

# usage_is EXPECTED_STDERR_LINE ARGS...: quern ARGS exits 2, prints nothing on
# stdout and exactly EXPECTED_STDERR_LINE on stderr.
usage_is() {
  local want=$1; shift
  run_quern 2 "$@"
  if [ "$(cat "$err")" != "$want" ]; then
    echo "FAIL: quern $*: stderr is not the one line"
    echo "  want: $want"; sed 's/^/  got:  /' "$err" | head -5
    fails=$((fails + 1))
  fi
  if [ -s "$out" ]; then echo "FAIL: quern $*: wrote to stdout"; fails=$((fails + 1)); fi
}

for cmd in stats bin gen info convert monitor group verify; do
  hint="(see 'quern $cmd --help')"
  usage_is "quern: error: unknown option '--frobnicate' $hint" $cmd --frobnicate in.h5
  usage_is "quern: error: unknown option '--frobnicate' $hint" $cmd --frobnicate=3 in.h5
  usage_is "quern: error: unknown option '-Z' $hint" $cmd -Z in.h5
  usage_is "quern: error: unknown option '-Z' $hint" $cmd -qZ in.h5
  usage_is "quern: error: unknown option '-Z' $hint" $cmd -Zq in.h5
  usage_is "quern: error: unknown option '-Z' $hint" $cmd --quiet -Z in.h5
  usage_is "quern: error: option '-t' needs a value $hint" $cmd -t
  usage_is "quern: error: option '-m' needs a value $hint" $cmd -qm
  usage_is "quern: error: option '--threads' needs a value $hint" $cmd --threads
  usage_is "quern: error: option '--memory-limit' needs a value $hint" $cmd --mem
  usage_is "quern: error: option '--quiet' takes no value $hint" $cmd --quiet=yes in.h5
done
# the commands' own options, at the end of the line
usage_is "quern: error: option '-o' needs a value (see 'quern stats --help')" stats in.h5 -o
usage_is "quern: error: option '--output' needs a value (see 'quern stats --help')" stats in.h5 --output
usage_is "quern: error: option '-c' needs a value (see 'quern stats --help')" stats in.h5 -c
usage_is "quern: error: option '--per-file' takes no value (see 'quern stats --help')" stats --per-file=1 in.h5
usage_is "quern: error: option '-a' needs a value (see 'quern bin --help')" bin in.h5 -a
usage_is "quern: error: option '--plot' needs a value (see 'quern bin --help')" bin in.h5 --plot
usage_is "quern: error: option '--rows' needs a value (see 'quern gen --help')" gen sim --rows
usage_is "quern: error: option '--codec' needs a value (see 'quern convert --help')" convert in.h5 -o x.csv --codec
usage_is "quern: error: option '--json' takes no value (see 'quern info --help')" info --json=1 in.h5
usage_is "quern: error: option '--key' needs a value (see 'quern group --help')" group in.h5 -o d --key
usage_is "quern: error: option '--force' takes no value (see 'quern group --help')" group --force=1 in.h5
usage_is "quern: error: option '--json' takes no value (see 'quern verify --help')" verify --json=1 d
usage_is "quern: error: option '-i' needs a value (see 'quern monitor --help')" monitor -i
usage_is "quern: error: option '--plot-size' needs a value (see 'quern monitor --help')" monitor --plot-size
# abbreviations getopt accepts when unique, and names when they are not
usage_is "quern: error: ambiguous option '--co' (could be --columns, --codec) (see 'quern convert --help')" convert --co x in.h5
usage_is "quern: error: ambiguous option '--plo' (could be --plot, --plot-size) (see 'quern monitor --help')" monitor --plo x -- true
usage_is "quern: error: unknown option '--frobnicate' (see 'quern monitor --help')" monitor --frobnicate -- true
# monitor stops at CMD: CMD's options are CMD's
run_quern 0 monitor -q -- true --frobnicate

# no command, or an option before the command
usage_is "quern: error: no command given; one of stats, bin, gen, info, convert, monitor, group, verify (see 'quern --help')"
usage_is "quern: error: unknown option '--frobnicate'; options follow the command (see 'quern --help')" --frobnicate
usage_is "quern: error: unknown command 'frobnicate' (see 'quern --help')" frobnicate
finish
