#!/usr/bin/env bash
# The layers of docs/architecture.md, checked on every source file:
#   core  <-  io, kernels, plot  <-  engine  <-  exec  <-  tools/quern, python
# A file may include headers of its own module and of layers below it,
# never of a layer beside or above it; tools and python include only the
# public quern.h (and their own headers); only src/exec may include mpi.h; libhdf5 is included by
# the HDF5 reader and writers in src/io and by jobs in src/exec only.
set -euo pipefail
cd "${QN_SRC:?}"
rank() {
  case $1 in
    core) echo 0 ;; io | kernels | plot) echo 1 ;; engine) echo 2 ;; exec) echo 3 ;;
    *) echo 9 ;;
  esac
}
fails=0
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
checked=0
while IFS= read -r f; do
  checked=$((checked + 1))
  layer=$(echo "$f" | cut -d/ -f2)
  mine=$(rank "$layer")
  while IFS= read -r inc; do
    [ -n "$inc" ] || continue
    case $inc in
      quern.h) continue ;;
      */*)
        # resolved as the compiler does: beside the file first, else from src/
        if [ -e "$(dirname "$f")/$inc" ]; then
          target=$(realpath -m --relative-to=src "$(dirname "$f")/$inc")
        else
          target=$inc
        fi
        tl=${target%%/*}
        ;;
      *) tl=$layer ;;
    esac
    [ -d "src/$tl" ] || continue
    if [ "$tl" != "$layer" ]; then
      theirs=$(rank "$tl")
      if [ "$theirs" -ge "$mine" ]; then bad "$f includes \"$inc\" (layer $tl is not below $layer)"; fi
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  if grep -q '^#include <mpi.h>' "$f" && [ "$layer" != exec ]; then bad "$f includes mpi.h (only src/exec may)"; fi
  if grep -q '^#include <hdf5.h>' "$f" && [ "$layer" != io ] && [ "$layer" != exec ]; then
    bad "$f includes hdf5.h (only src/io and src/exec may)"
  fi
done < <(find src -name '*.[ch]' | sort)
while IFS= read -r f; do
  checked=$((checked + 1))
  while IFS= read -r inc; do
    [ "$inc" = quern.h ] && continue
    [ -e "$(dirname "$f")/$inc" ] && [ "${inc#*/}" = "$inc" ] && continue # its own headers
    bad "$f includes \"$inc\" (tools and python use only quern.h)"
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find tools python -name '*.[ch]' 2>/dev/null | sort)
[ "$checked" -gt 40 ] || { echo "FAIL: only $checked files checked"; exit 1; }
if [ "$fails" -gt 0 ]; then exit 1; fi
echo "ok: $checked files keep the layers"
