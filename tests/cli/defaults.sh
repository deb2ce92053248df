#!/usr/bin/env bash
# Defaults that fit the machine, as `quern --version` reports them (and
# `quern CMD [options] --version`: what that command would use).
# --threads defaults to the CPUs this process may run on: under taskset (a
# container's cpuset, an MPI launcher's binding) fewer than are online; nproc
# (coreutils, also from sched_getaffinity) is the reference. The memory
# limit defaults to 80% of the smaller of physical memory and the cgroup's
# limit, so never more than 80% of MemTotal; the cgroup parsing itself is
# unit-tested on fake cgroup trees (unit.core.cgroup_*).
source "$(dirname "$0")/lib.bash"

# field NAME: the value of "NAME: VALUE" in $out
field() { sed -n "s/^$1: //p" "$out"; }

run_quern 0 --version
check "first line is the version" grep -qx 'quern [0-9][0-9.]*' <(head -1 "$out")
check "threads = nproc ($(nproc)), got '$(field threads)'" test "$(field threads)" = "$(nproc)"
limit=$(field "memory limit" | sed -n 's/.*(\([0-9]*\) bytes)$/\1/p')
total=$(($(awk '$1=="MemTotal:" {print $2}' /proc/meminfo) * 1024))
check "memory limit '$(field "memory limit")' is > 0 and <= 80% of MemTotal $total" \
  test -n "$limit" -a "$limit" -gt 0 -a "$limit" -le $((total / 10 * 8))

if command -v taskset >/dev/null; then
  # one CPU, whichever this process may use first
  cpu=$(taskset -cp $$ | sed 's/.*: //; s/[,-].*//')
  rc=0; taskset -c "$cpu" "$QUERN" --version >"$out" 2>"$err" || rc=$?
  check "taskset -c $cpu quern --version exits 0 (rc=$rc)" test "$rc" = 0
  check "under taskset -c $cpu: threads: 1, got '$(field threads)'" test "$(field threads)" = 1
  rc=0; taskset -c "$cpu" "$QUERN" stats --version >"$out" 2>"$err" || rc=$?
  check "under taskset: quern stats --version says threads: 1" test "$(field threads)" = 1
else
  echo "FAIL: taskset (util-linux) is missing"; fails=$((fails + 1))
fi

# Options given win over the defaults.
run_quern 0 stats -t 3 -m 1G --version
check "stats -t 3 --version: threads: 3" test "$(field threads)" = 3
check "-m 1G --version: 1073741824 bytes" test "$(field "memory limit")" = "1.0 GiB (1073741824 bytes)"
run_quern 0 bin --threads 5 --version
check "bin --threads 5 --version: threads: 5" test "$(field threads)" = 5
finish
