#!/usr/bin/env python3
"""The peer baseline: Python's `eventsourcing` library (9.5.x) with its SQLite persistence.

Saves the benchmark workload's events as domain events, 1,000 per `save` call (one aggregate
per 1,000 events, as the library batches events per aggregate), then reads every stored event
back and decodes it into a domain event (what a projection rebuild does). Part of
scripts/bench.sh.

Usage: eventsourcing_bench.py FILE.ndjson DB
Prints: events save_seconds read_seconds
"""
import json
import os
import sys
import time


def main():
    path, db = sys.argv[1], sys.argv[2]
    os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
    os.environ["SQLITE_DBNAME"] = db
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Record(Aggregate):
        @event("Recorded")
        def record(self, stream: str, type: str, data: dict, actor: str, occurred_at: str):
            pass

    class Partnership(Application):
        pass

    app = Partnership()
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    started = time.perf_counter()
    aggregate = None
    for index, line in enumerate(lines):
        if index % 1000 == 0:
            if aggregate is not None:
                app.save(aggregate)
            aggregate = Record()  # its creation event counts towards the next save
        aggregate.record(line["stream"], line["type"], line["data"], line.get("actor", ""), line.get("occurred_at", ""))
    if aggregate is not None:
        app.save(aggregate)
    saved = time.perf_counter() - started

    started = time.perf_counter()
    decoded = 0
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=10_000)
        if not notifications:
            break
        for notification in notifications:
            app.mapper.to_domain_event(notification)
            decoded += 1
        start = notifications[-1].id + 1
    read = time.perf_counter() - started
    print(f"{decoded} {saved:.6f} {read:.6f}")


if __name__ == "__main__":
    main()
