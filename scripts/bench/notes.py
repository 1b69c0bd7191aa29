#!/usr/bin/env python3
"""Tiny generic events for the wire-bytes benchmark: N `note.added` events on notes:region-K
streams (5000 of them, no read models), each a note of about 140 characters of words picked by a
fixed LCG (compressible like real text, not trivially): lines of about 210 bytes.

Usage: notes.py N OUT.ndjson
"""
import json
import sys

WORDS = ("visit referral premises officer agency partner housing welfare interview evidence statement "
         "safeguarding review address vehicle worker employer payslip passport translator shift wages "
         "council inspection licence landlord contact follow-up outcome risk assessment").split()


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
    x = 12345
    with open(out, "w") as f:
        for i in range(count):
            parts = [f"note {i}:"]
            size = len(parts[0])
            while size < 138:
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                word = WORDS[(x >> 16) % len(WORDS)]
                parts.append(word)
                size += len(word) + 1
            line = {"stream": f"notes:region-{i % 5000}", "type": "note.added", "data": {"note": " ".join(parts)}}
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


main()
