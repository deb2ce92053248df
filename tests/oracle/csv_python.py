#!/usr/bin/python3
"""Differential test of the CSV reader against Python's csv module: many
small random files built from the awkward pieces (quotes, doubled quotes,
commas and CRLF inside quotes, empty lines, blanks, nan/inf spellings, huge
integers, missing final newline, wrong field counts, unterminated quotes,
text after a closing quote) and a few spanning several 65536-row morsels.

For each file: when Python's csv (strict) rejects it or a row's field count
differs from the header, quern must fail with exit 1 and name the file and a
line; otherwise `quern info --json` must give Python's row count and the
types the rules of docs/csv.md give, and `quern stats` the exact count, null
count, min and max of every numeric column (Python's int() and float() are
correctly rounded, as strtod is).
usage: csv_python.py QUERN WORKDIR
"""
import csv, json, math, os, random, re, subprocess, sys

QUERN, WORK = sys.argv[1], sys.argv[2]
rnd = random.Random(4)
failures = []
tally = {"rejected": 0, "typed": 0, "numeric columns": 0}
INT = re.compile(r"[+-]?[0-9]+\Z")
FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
SPECIAL = re.compile(r"[+-]?(nan|inf|infinity)\Z", re.I)

VALUES = ["0", "-1", "+7", "007", "42", "9223372036854775807", "-9223372036854775808",
          "9223372036854775808", "1.5", "-2.25e3", ".5", "5.", "1e-300", "2E+10", "nan", "NaN",
          "-inf", "Infinity", " 3 ", "\t4.5", "", " ", "x", "1,5", 'a"b', "1e", "0x10", "--1"]


def field(v):
    r = rnd.random()
    if r < 0.15 or any(c in v for c in ',"\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def make(ncols, nrows, broken):
    names = [f"c{i}" for i in range(ncols)]
    kinds = [rnd.choice(["int", "float", "mixed", "text"]) for _ in range(ncols)]
    lines = [",".join(field(n) for n in names)]
    for _ in range(nrows):
        row = []
        for k in kinds:
            if k == "int":
                v = rnd.choice(["", str(rnd.randint(-10**18, 10**18)), "12", "-3"]) if rnd.random() < 0.3 \
                    else str(rnd.randint(-10**6, 10**6))
            elif k == "float":
                v = repr(rnd.uniform(-1e3, 1e3)) if rnd.random() < 0.8 else rnd.choice(VALUES[:20])
            elif k == "mixed":
                v = rnd.choice(VALUES)
            else:
                v = rnd.choice(["hello", "a,b", 'say "hi"', "two\nlines", "x\r\ny", ""])
            row.append(field(v))
        if rnd.random() < 0.05:
            lines.append("")  # an empty line, skipped
        lines.append(",".join(row))
    if broken == "fields" and nrows:
        i = rnd.randrange(1, len(lines))
        lines[i] += ",extra"
    elif broken == "unterminated":
        lines.append('"never closed,' + ",".join(["1"] * (ncols - 1)))
    elif broken == "afterquote" and nrows:
        lines.append('"q"x' + ",1" * (ncols - 1))
    end = rnd.choice(["\n", "\r\n"])
    text = end.join(lines) + (end if rnd.random() < 0.7 else "")
    return text


def expected(text):
    """(rows, types, columns) per the rules, or None when it must fail."""
    try:
        rows = [r for r in csv.reader(text.splitlines(keepends=True), strict=True) if r != []]
    except csv.Error:
        return None
    if not rows:
        return None
    head, body = rows[0], rows[1:]
    if any(len(r) != len(head) for r in body):
        return None
    types, cols = [], []
    for j in range(len(head)):
        vals = [r[j].strip(" \t") for r in body]
        present = [v for v in vals if v != ""]
        if not present:
            t = "float64"
        elif all(INT.match(v) and -2**63 <= int(v) < 2**63 for v in present):
            t = "int64"
        elif all(FLOAT.match(v) or SPECIAL.match(v) for v in present):
            t = "float64"
        else:
            t = "string"
        types.append(t)
        cols.append(vals)
    return len(body), head, types, cols


def run(*args):
    r = subprocess.run([QUERN, *args, "--no-progress"], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def check_file(k, text):
    path = os.path.join(WORK, f"f{k}.csv")
    with open(path, "w", newline="") as f:
        f.write(text)
    exp = expected(text)
    rc, out, err = run("info", "--json", path)
    if exp is None:
        tally["rejected"] += 1
        if rc != 1 or path not in err or "line" not in err:
            failures.append(f"{path}: expected a format error naming a line, got rc {rc}: {err.strip()}")
        return
    if rc != 0:
        failures.append(f"{path}: rc {rc}: {err.strip()}")
        return
    nrows, head, types, cols = exp
    tally["typed"] += 1
    info = json.loads(out)
    got = [(c["name"], c["type"]) for c in info["columns"]]
    if got != list(zip(head, types)) or any(c["rows"] != nrows for c in info["columns"]):
        failures.append(f"{path}: info {got} rows {[c['rows'] for c in info['columns']]}, "
                        f"expected {list(zip(head, types))} rows {nrows}")
        return
    if "float64" not in types and "int64" not in types:
        return
    rc, out, err = run("stats", path)
    if rc != 0:
        failures.append(f"{path}: stats rc {rc}: {err.strip()}")
        return
    res = json.loads(out)
    for name, t, vals in zip(head, types, cols):
        if t == "string":
            continue
        q = res["columns"][name]
        tally["numeric columns"] += 1
        present = [v for v in vals if v != ""]
        nums = [int(v) for v in present] if t == "int64" else [float(v) for v in present]
        nan = sum(1 for v in nums if isinstance(v, float) and math.isnan(v))
        fin = [v for v in nums if not (isinstance(v, float) and math.isnan(v))]
        want = {"count": len(fin), "nan": nan, "null": len(vals) - len(present)}
        for key, w in want.items():
            if q.get(key, 0) != w:
                failures.append(f"{path}:{name} {key}: {q.get(key)} != {w}")
        if fin:
            conv = (lambda x: x) if t == "int64" else (lambda x: {"inf": math.inf, "-inf": -math.inf}.get(x, x))
            if conv(q["min"]) != min(fin) or conv(q["max"]) != max(fin):
                failures.append(f"{path}:{name} min/max {q['min']}/{q['max']} != {min(fin)}/{max(fin)}")


k = 0
for _ in range(250):
    broken = rnd.choice([None] * 6 + ["fields", "unterminated", "afterquote"])
    check_file(k, make(rnd.randint(1, 5), rnd.choice([0, 1, 2, 5, 30, 200]), broken))
    k += 1
for nrows in (65536, 65537, 140000):  # morsel boundaries
    check_file(k, make(3, nrows, None))
    k += 1
check_file(k, make(2, 131072, "fields"))

if failures:
    print("\n".join(failures[:30]))
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print(f"csv python differential: {k + 1} files agree ({tally})")
