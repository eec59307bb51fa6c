#!/usr/bin/env python3
"""Writes N articles at the editing caps (50 sections, 32 points) in the import format.

Each section has a paragraph of BODY characters, each point a description of POINT
characters: the largest articles the write path accepts, so `articles(first: K)` with
everything nested is the heaviest response the limits admit. Deterministic (no randomness).
"""
import os
import sys

count = int(sys.argv[1])
out = sys.argv[2]
body = int(os.environ.get("BODY", "3000"))
point = int(os.environ.get("POINT", "1500"))
words = ("reform thaw congress speech rehabilitation amnesty camps literature "
         "censorship party plenum housing agriculture decentralisation").split()


def text(n, seed):
    parts, i = [], seed
    while sum(len(p) + 1 for p in parts) < n:
        parts.append(words[i % len(words)])
        i += 3
    return " ".join(parts)[:n].rstrip() + "."


os.makedirs(out, exist_ok=True)
for a in range(count):
    lines = [f"Heavy article {a}", text(400, a)]
    points = 0
    for s in range(50):
        if s % 10 == 1:
            lines.append(f"Reforms and policies {s}")
        elif s % 10 == 2:
            lines.append(f"Reactions and responses {s}")
        else:
            lines.append(f"Context {s}")
        lines.append(text(body, a + s))
        if s % 10 in (1, 2) and points < 32:
            for p in range(8):
                if points >= 32:
                    break
                lines.append(f"- Point {s}-{p}: {text(point, a + s + p)}")
                points += 1
    with open(os.path.join(out, f"heavy-{a:03}.txt"), "w") as f:
        f.write("\n".join(lines))
