#!/usr/bin/env python3
"""Checks Parquet logs against the Zeek TSV logs of the same run, value by value.

An independent reading of both sides: the TSV is parsed here from Zeek's
rules (separators, `-` unset, `(empty)`, `\\xNN` escapes, set separator `,`),
the Parquet file is read by pyarrow. For every column the Arrow type must be
the one README's table gives for its Zeek type, and every value of every row
must be equal: times as exact integer microseconds (Decimal arithmetic on the
TSV text), doubles bit for bit (NaN = NaN), strings after unescaping (bytes
that are not UTF-8 appear as the text `\\xNN`, as in Zeek's JSON), lists
element by element.

usage: check.py [--row-group N | --json] PARQUET[,PARQUET...] TSV [PARQUET TSV ...]

--json: the Parquet file was converted from a JSON log, which leaves out
columns never set: its columns must be the TSV's in order with only
all-unset columns missing.

Several Parquet files for one TSV (rotation) are compared as a multiset of
rows. Prints one `ok` line per pair; exits 1 with the first difference.
With --row-group N every file must have ceil(rows / N) row groups.
"""
import codecs
import math
import sys
from decimal import Decimal

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:
    print("MISSING: pyarrow (scripts/ensure-deps.sh --test installs it)")
    sys.exit(3)


def zeekx(err):
    bad = err.object[err.start:err.end]
    return ("".join("\\x%02x" % b for b in bad), err.end)


codecs.register_error("zeekx", zeekx)

SCALAR = {
    "time": pa.timestamp("us", tz="UTC"),
    "interval": pa.float64(),
    "double": pa.float64(),
    "count": pa.uint64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "port": pa.uint16(),
}


def arrow_type(zeek):
    for p in ("set[", "vector["):
        if zeek.startswith(p) and zeek.endswith("]"):
            return pa.list_(SCALAR.get(zeek[len(p):-1], pa.string()))
    return SCALAR.get(zeek, pa.string())


def unescape(s):
    out = bytearray()
    i = 0
    b = s.encode("utf-8", "surrogateescape")
    while i < len(b):
        if b[i:i + 2] == b"\\x" and len(b) >= i + 4:
            try:
                out.append(int(b[i + 2:i + 4].decode(), 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(b[i])
        i += 1
    return bytes(out)


def scalar(zeek, text):
    if text == "-":
        return None
    if zeek in ("time",):
        return int(Decimal(text) * 1_000_000)
    if zeek in ("interval", "double"):
        return float(text)
    if zeek in ("count", "int", "port"):
        return int(text)
    if zeek == "bool":
        return {"T": True, "F": False}[text]
    if text == "(empty)":
        return ""
    return unescape(text).decode("utf-8", "zeekx")


def field(zeek, text):
    for p in ("set[", "vector["):
        if zeek.startswith(p):
            if text == "-":
                return None
            if text == "(empty)":
                return []
            return [scalar(zeek[len(p):-1], e) for e in text.split(",")]
    return scalar(zeek, text)


def read_tsv(path):
    fields = types = None
    rows = []
    with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields\t"):
                fields = line.split("\t")[1:]
            elif line.startswith("#types\t"):
                types = line.split("\t")[1:]
            elif line.startswith("#") or not line:
                continue
            else:
                parts = line.split("\t")
                assert len(parts) == len(types), (path, line)
                rows.append([field(t, v) for t, v in zip(types, parts)])
    return fields, types, rows


def same(a, b, json=False):
    if isinstance(a, float) and isinstance(b, float):
        if json and math.isfinite(a):
            # Zeek's JSON writes doubles in full, its TSV to 6 decimals.
            return f"{a:.6f}" == f"{b:.6f}"
        return (math.isnan(a) and math.isnan(b)) or (a == b and str(a) == str(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, json) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def read_parquet(path, fields, types, row_group):
    f = pq.ParquetFile(path)
    t = f.read()
    if t.column_names != fields:
        raise SystemExit(f"{path}: columns {t.column_names} != TSV {fields}")
    for name, zeek in zip(fields, types):
        got = t.schema.field(name).type
        if got != arrow_type(zeek):
            raise SystemExit(f"{path}: {name} ({zeek}) is {got}, expected {arrow_type(zeek)}")
    if row_group:
        want = max(1, math.ceil(t.num_rows / row_group)) if t.num_rows else 0
        if f.metadata.num_row_groups != want:
            raise SystemExit(
                f"{path}: {f.metadata.num_row_groups} row groups for {t.num_rows} rows, expected {want}")
    cols = []
    for name, zeek in zip(fields, types):
        c = t.column(name)
        if zeek == "time":
            c = c.cast(pa.int64())
        cols.append(c.to_pylist())
    return [list(r) for r in zip(*cols)] if cols else []


def main(argv):
    row_group = 0
    json = False
    if argv[:1] == ["--row-group"]:
        row_group = int(argv[1])
        argv = argv[2:]
    if argv[:1] == ["--json"]:
        json = True
        argv = argv[1:]
    if len(argv) % 2:
        raise SystemExit(__doc__)
    for pq_arg, tsv in zip(argv[::2], argv[1::2]):
        fields, types, want = read_tsv(tsv)
        got = []
        files = pq_arg.split(",")
        if json:
            names = pq.ParquetFile(files[0]).schema_arrow.names
            keep = [i for i, n in enumerate(fields) if n in names]
            for i, n in enumerate(fields):
                if i not in keep and any(r[i] is not None for r in want):
                    raise SystemExit(f"{files[0]}: column {n} is missing but set in {tsv}")
            fields = [fields[i] for i in keep]
            types = [types[i] for i in keep]
            want = [[r[i] for i in keep] for r in want]
        for p in files:
            got.extend(read_parquet(p, fields, types, row_group))
        if len(files) > 1:
            key = repr
            got.sort(key=key)
            want.sort(key=key)
        if len(got) != len(want):
            raise SystemExit(f"{pq_arg}: {len(got)} rows, {tsv} has {len(want)}")
        for i, (g, w) in enumerate(zip(got, want)):
            for name, a, b in zip(fields, g, w):
                if not same(a, b, json):
                    raise SystemExit(
                        f"{pq_arg}: row {i + 1} column {name}: parquet {a!r} != tsv {b!r}")
        print(f"ok {pq_arg} {len(got)} rows {len(fields)} columns")


if __name__ == "__main__":
    main(sys.argv[1:])
