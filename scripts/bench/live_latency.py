#!/usr/bin/env python3
"""Region-to-hub-to-region latency of live sync (`concord sync --follow`), measured end to end.

A hub serves; two regions follow it (`concord sync hub --follow`, each its own process). Each
trial records a case on the first region with `concord case open` (a separate process, as a person
would) and times how long until the second region's follower reports pulling it. Prints one line
per trial and a summary (median, p90, max). Not a test: it prints figures.

Usage: live_latency.py CONCORD_BINARY WORKDIR TRIALS
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time

concord, workdir, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, CONCORD_ACTOR="bench@live")
env.pop("CONCORD_STORE", None)


def store(node):
    return os.path.join(workdir, f"{node}.sqlite")


def run(node, *args, stdin=None):
    result = subprocess.run([concord, *args, "--store", store(node)], env=env, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{node} {' '.join(args[:3])}: exit {result.returncode}: {result.stderr}")
    return result.stdout


for node in ("hub", "wy", "gm"):
    run(node, "init", "--node", node)
hub = subprocess.Popen([concord, "serve", "--store", store("hub"), "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE, text=True)
url = hub.stdout.readline().strip().removeprefix("listening on ")
followers = {}
arrivals = {}  # node -> list of (time, line)
lock = threading.Condition()


def watch(node, process):
    for line in process.stdout:
        with lock:
            arrivals.setdefault(node, []).append((time.monotonic(), line.strip()))
            lock.notify_all()


try:
    for region in ("wy", "gm"):
        token = run("hub", "token", "issue", region).strip().splitlines()[-1]
        run(region, "peer", "add", "hub", url, "--token-file", "-", stdin=token + "\n")
        process = subprocess.Popen([concord, "sync", "hub", "--follow", "--store", store(region)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        followers[region] = process
        threading.Thread(target=watch, args=(region, process), daemon=True).start()
    # Each follower's first round (a full sync) has happened once it printed its first line.
    with lock:
        if not lock.wait_for(lambda: all(arrivals.get(r) for r in ("wy", "gm")), timeout=60):
            sys.exit("the followers did not start")
    latencies = []
    for trial in range(1, trials + 1):
        with lock:
            seen = len(arrivals.get("gm", []))
        started = time.monotonic()
        run("wy", "case", "open", f"LIVE-{trial}", "--title", f"Live trial {trial}", "--region", "West Yorkshire")
        recorded = time.monotonic()
        with lock:
            arrived = lock.wait_for(lambda: any("pulled 1 " in line for _, line in arrivals.get("gm", [])[seen:]), timeout=30)
            at = next((t for t, line in arrivals.get("gm", [])[seen:] if "pulled 1 " in line), None)
        if not arrived or at is None:
            sys.exit(f"trial {trial}: the case did not reach gm within 30 s")
        latency = at - started
        latencies.append(latency)
        print(f"trial {trial:3d}: recorded in {recorded - started:.3f} s, on the other region after {latency:.3f} s", flush=True)
        time.sleep(0.2)  # spacing between trials (not a synchronisation: each trial waits for its own arrival)
    # The case really is in the second region's store and read models.
    shown = run("gm", "show", f"case:LIVE-{trials}", "--json")
    assert f"Live trial {trials}" in shown, shown
    ordered = sorted(latencies)
    summary = {
        "trials": trials,
        "median_s": round(statistics.median(latencies), 4),
        "p90_s": round(ordered[max(0, int(0.9 * len(ordered)) - 1)], 4),
        "max_s": round(max(latencies), 4),
    }
    print(json.dumps(summary))
finally:
    for process in list(followers.values()) + [hub]:
        process.terminate()
    for process in list(followers.values()) + [hub]:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
