#!/usr/bin/env bash
# check_tmp_clean.sh BUILD [CTEST ARGS...] — runs the suite (ctest in BUILD)
# and fails when it leaves anything in /tmp: every test must remove what it
# makes, also when it fails. Lists /tmp before and after the run.
#
# As root (or with unprivileged user namespaces) ctest runs in a mount
# namespace of its own on an empty tmpfs /tmp, so what other processes on
# the machine do in /tmp neither hides nor adds to what the suite leaves.
# Otherwise (or when the build or source tree is itself under /tmp) it
# compares the real /tmp before and after; entries that other processes
# made meanwhile show up there too, and are listed as such.
#
#   bash tests/helpers/check_tmp_clean.sh build -j2 --output-on-failure
set -u
build=$(cd "${1:?usage: check_tmp_clean.sh BUILD [CTEST ARGS...]}" && pwd) || exit 2
shift

run_private() {
  # $0 is the build directory inside the namespace; $@ the ctest arguments.
  # shellcheck disable=SC2016
  unshare --mount --propagation private bash -c '
    mount -t tmpfs -o mode=1777 qn_tmp_check /tmp || exit 2
    echo "check_tmp_clean: /tmp of this run is a fresh tmpfs: $(ls -A /tmp | wc -l) entries before"
    (cd "$0" && ctest "$@")
    rc=$?
    left=$(ls -A /tmp)
    if [ -n "$left" ]; then
      echo "check_tmp_clean: FAIL: the suite left in /tmp:"
      ls -lA /tmp | sed "s/^/  /"
      exit 1
    fi
    echo "check_tmp_clean: /tmp after the run: 0 entries"
    exit $rc' "$build" "$@"
}

run_shared() {
  local before after
  before=$(mktemp) after=$(mktemp)
  ls -A /tmp | grep -vxF -e "$(basename "$before")" -e "$(basename "$after")" | sort >"$before"
  echo "check_tmp_clean: no private /tmp here; $(wc -l <"$before") entries in /tmp before"
  (cd "$build" && ctest "$@")
  local rc=$?
  ls -A /tmp | grep -vxF -e "$(basename "$before")" -e "$(basename "$after")" | sort >"$after"
  local new
  new=$(comm -13 "$before" "$after")
  rm -f "$before" "$after"
  if [ -n "$new" ]; then
    echo "check_tmp_clean: FAIL: new in /tmp after the run (the suite's, or another process's):"
    echo "$new" | sed 's/^/  /'
    return 1
  fi
  echo "check_tmp_clean: nothing new in /tmp after the run"
  return $rc
}

# A fresh /tmp would hide a build or source tree that lives under /tmp
# (a CI clone there): then compare the real /tmp before and after.
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)
under_tmp=0
for d in "$build" "${src:-$build}"; do
  case "$(realpath -m "$d")/" in /tmp/*) under_tmp=1 ;; esac
done
if [ "$under_tmp" = 0 ] && unshare --mount --propagation private true 2>/dev/null; then
  run_private "$@"
else
  run_shared "$@"
fi
