#!/usr/bin/env python3
"""Structure lint for the daemon, run by tests/tools/lint.sh.

1. No include cycle between daemon modules. Module x is daemon/x.c with
   include/x.h; x.c or x.h including "y.h" (y.h in include/) is an edge
   x -> y. Any cycle fails, printed with the files that make each edge.
2. No source file over MAX_LINES lines: daemon/*.c, include/*.h, tools/*.c.

tests/tools/lint-known.txt lists known problems that are being fixed, one
per line ("cycle <module> <module>...", the modules of the cycle in any
order; "lines <file>"); they are reported but do not fail. A listed problem
that no longer occurs fails, so that its line is removed with the fix.

Run from the top of the source tree; exits 0 when clean, 1 otherwise.
"""

import glob
import os
import re
import sys

MAX_LINES = 1500
KNOWN = "tests/tools/lint-known.txt"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def load_known():
    known = {}
    if not os.path.exists(KNOWN):
        return known
    for n, line in enumerate(read(KNOWN).splitlines(), 1):
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        if line[0] == "cycle" and len(line) >= 3:
            key = ("cycle", " ".join(sorted(line[1:])))
        elif line[0] == "lines" and len(line) == 2:
            key = ("lines", line[1])
        else:
            print(f"{KNOWN}:{n}: not understood: {' '.join(line)}")
            sys.exit(1)
        known[key] = False
    return known


def include_graph():
    """Edges module -> {module: file that includes its header}."""
    headers = {os.path.basename(p)[:-2] for p in glob.glob("include/*.h")}
    files = sorted(glob.glob("daemon/*.c")) + sorted(glob.glob("include/*.h"))
    edges = {}
    for path in files:
        src = os.path.basename(path)[:-2]
        for dst in INCLUDE_RE.findall(read(path)):
            if dst in headers and dst != src:
                edges.setdefault(src, {}).setdefault(dst, path)
    return edges


def strongly_connected(edges):
    """Tarjan's algorithm; returns the components of more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []
    nodes = sorted(set(edges) | {d for v in edges.values() for d in v})

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def one_cycle(edges, comp):
    """A cycle through comp's first module, staying inside comp."""
    members, start = set(comp), comp[0]
    path, seen = [start], {start}

    def walk(v):
        for w in sorted(edges.get(v, {})):
            if w == start and len(path) > 1:
                return True
            if w in members and w not in seen:
                seen.add(w)
                path.append(w)
                if walk(w):
                    return True
                path.pop()
        return False

    walk(start)
    return path + [start]


def main():
    known = load_known()
    bad = 0

    edges = include_graph()
    for comp in strongly_connected(edges):
        key = ("cycle", " ".join(comp))
        cyc = one_cycle(edges, comp)
        how = "; ".join(f"{edges[a][b]} includes {b}.h"
                        for a, b in zip(cyc, cyc[1:]))
        if key in known:
            known[key] = True
            print(f"lint: known include cycle (listed in {KNOWN}): "
                  f"{' -> '.join(cyc)}")
            continue
        print(f"lint: include cycle between daemon modules: "
              f"{' -> '.join(cyc)} ({how})")
        if len(comp) > len(cyc) - 1:
            print(f"lint:   the cycle is part of a larger one among: "
                  f"{' '.join(comp)}")
        bad = 1

    paths = (sorted(glob.glob("daemon/*.c")) + sorted(glob.glob("include/*.h"))
             + sorted(glob.glob("tools/*.c")))
    for path in paths:
        n = read(path).count("\n")
        if n <= MAX_LINES:
            continue
        key = ("lines", path)
        if key in known:
            known[key] = True
            print(f"lint: known long file (listed in {KNOWN}): {path}: "
                  f"{n} lines, more than {MAX_LINES}")
            continue
        print(f"lint: {path}: {n} lines, more than {MAX_LINES}: split it "
              f"by concern")
        bad = 1

    for (kind, what), seen in sorted(known.items()):
        if not seen:
            print(f"lint: {KNOWN} lists \"{kind} {what}\", which no longer "
                  f"occurs: remove that line")
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
