#!/usr/bin/env bash
# lib_messages.sh — the library's messages name no command-line flag: a
# program calling libquern (from C, or Python through ctypes) has no --axis
# or -o, so every string literal under src/ speaks of options by their API
# meaning ("axis 'x:10:0:1'", "the memory limit", "a value column"). The
# tool adds its flag names when it prints (tools/quern/). Comments are not
# messages and are skipped.
set -euo pipefail
: "${QN_SRC:?set QN_SRC to the source tree}"
/usr/bin/python3 - "$QN_SRC" <<'PY'
import pathlib, re, sys

root = pathlib.Path(sys.argv[1])
# a C string literal, or a comment (matched so that it can be skipped)
token = re.compile(r'"(?:[^"\\\n]|\\.)*"|/\*.*?\*/|//[^\n]*|\'(?:[^\'\\\n]|\\.)+\'', re.S)
# --flag, or a short flag at the end or before a metavariable or a format
# ("in -c", "-o FILE", "-c %s")
flag = re.compile(r'(?:^|[\s\'"(])(--[a-z][a-z-]*|-[a-zA-Z](?:$|[,;)]| (?:[A-Z]{2,}|%)))')
files = sorted(p for p in (root / "src").rglob("*.c")) + sorted((root / "src").rglob("*.h"))
if len(files) < 30:
    sys.exit(f"FAIL: found only {len(files)} source files under {root}/src")
found = 0
for path in files:
    text = path.read_text(encoding="utf-8")
    for m in token.finditer(text):
        lit = m.group(0)
        if not lit.startswith('"'):
            continue
        hit = flag.search(lit[1:-1])
        if hit:
            line = text.count("\n", 0, m.start()) + 1
            print(f"FAIL: {path.relative_to(root)}:{line}: names the flag '{hit.group(1)}': {lit}")
            found += 1
if found:
    sys.exit(1)
print(f"lib_messages: {len(files)} files, no string names a command-line flag")
PY
