#!/usr/bin/env python3
"""Long cases for the incremental-sync benchmark: N events in cases of EVENTS_PER_CASE events.

Each case is opened (`case.opened`) and then gains notes (`case.note-added`, ~100 bytes of
words picked by a fixed LCG), so a log of N events holds N / EVENTS_PER_CASE cases, each as long
as in a bigger log. With --delta, writes COUNT notes on existing cases instead: two on each of
COUNT / 2 cases spread over the first N / EVENTS_PER_CASE, picked by SEED (the same cases whatever
N is, as far as N allows).

Usage: long_cases.py N OUT.ndjson [EVENTS_PER_CASE]
       long_cases.py --delta COUNT OUT.ndjson CASES SEED
"""
import json
import random
import sys

WORDS = ("visit referral premises officer agency partner housing welfare interview evidence statement "
         "safeguarding review address vehicle worker employer payslip passport translator shift wages "
         "council inspection licence landlord contact follow-up outcome risk assessment").split()


def note(rng, i):
    parts = [f"note {i}:"]
    while sum(len(p) + 1 for p in parts) < 100:
        parts.append(rng.choice(WORDS))
    return " ".join(parts)


def line(stream, kind, data):
    return json.dumps({"stream": stream, "type": kind, "data": data}, separators=(",", ":")) + "\n"


def main():
    if sys.argv[1] == "--delta":
        count, out, cases, seed = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        rng = random.Random(seed)
        picked = rng.sample(range(cases), min(cases, count // 2))
        with open(out, "w") as f:
            for i in range(count):
                k = picked[i % len(picked)]
                f.write(line(f"case:LC-{k}", "case.note-added", {"note": note(rng, i)}))
        return
    count, out = int(sys.argv[1]), sys.argv[2]
    per_case = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    rng = random.Random(20161201)
    cases = max(1, count // per_case)
    with open(out, "w") as f:
        # Round-robin over the cases, as a partnership's cases grow side by side.
        for i in range(count):
            k = i % cases
            if i < cases:
                f.write(line(f"case:LC-{k}", "case.opened",
                             {"reference": f"LC-{k}", "title": f"Long case {k}", "region": "West Yorkshire"}))
            else:
                f.write(line(f"case:LC-{k}", "case.note-added", {"note": note(rng, i)}))


main()
