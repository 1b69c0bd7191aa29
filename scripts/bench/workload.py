#!/usr/bin/env python3
"""The standard benchmark workload: N events for `concord import --new`, seeded.

Cases, meetings with decisions, and actions across 8 regions of England, as a partnership against
modern slavery records them: realistic ids (WY-2016-0042), times spread over years, short free
text. About 20 events per case, 12 per meeting, 6 per action, so a bigger log holds more records.

Usage: workload.py N OUT.ndjson [SEED]
"""
import json
import random
import sys

REGIONS = [("WY", "West Yorkshire"), ("GM", "Greater Manchester"), ("WM", "West Midlands"), ("MS", "Merseyside"),
           ("NB", "Northumbria"), ("TV", "Thames Valley"), ("AS", "Avon and Somerset"), ("KT", "Kent")]
CATEGORIES = ["labour exploitation", "sexual exploitation", "criminal exploitation", "domestic servitude", "organ harvesting"]
WORDS = ("visit referral premises officer agency partner housing welfare interview evidence statement safeguarding "
         "review address vehicle worker employer payslip passport translator shift wages council inspection licence "
         "landlord contact follow-up outcome risk assessment NRM car-wash nail-bar warehouse farm factory").split()
STATUSES = ["investigating", "referred", "charged", "convicted"]
PEOPLE = ["DI Khan", "DS Patel", "PC Evans", "Ms Okafor", "Mr Novak", "Dr Lewis", "Insp. Byrne", "Ms Haddad"]


def text(rng, low, high):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def main():
    count, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20160309)
    start = 1_451_606_400_000  # 2016-01-01
    span = 6 * 365 * 86_400_000
    open_cases, open_meetings, open_actions = [], [], []
    serial = {code: 0 for code, _ in REGIONS}
    written = 0
    with open(out, "w") as f:
        def emit(stream, kind, data):
            nonlocal written
            at = start + span * written // max(count, 1) + rng.randint(0, 3_600_000)
            occurred = "%s" % at
            line = {"stream": stream, "type": kind, "data": data, "actor": rng.choice(PEOPLE), "occurred_at": iso(at)}
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
            written += 1

        while written < count:
            roll = rng.random()
            code, region = rng.choice(REGIONS)
            if roll < 0.05 or not open_cases:
                serial[code] += 1
                ref = f"{code}-{2016 + written * 6 // max(count, 1)}-{serial[code]:04d}"
                emit(f"case:{ref}", "case.opened", {"reference": ref, "title": text(rng, 3, 6).capitalize(), "region": region,
                                                   "category": rng.choice(CATEGORIES)})
                open_cases.append(ref)
                if len(open_cases) > 400:
                    open_cases.pop(0)
            elif roll < 0.75:
                ref = rng.choice(open_cases)
                r = rng.random()
                if r < 0.8:
                    emit(f"case:{ref}", "case.note-added", {"note": text(rng, 8, 20)})
                elif r < 0.9:
                    emit(f"case:{ref}", "case.owner-assigned", {"owner": rng.choice(PEOPLE)})
                else:
                    emit(f"case:{ref}", "case.status-changed", {"status": rng.choice(STATUSES)})
            elif roll < 0.78 or not open_meetings:
                serial[code] += 1
                mid = f"{code}-M{serial[code]:04d}"
                emit(f"meeting:{mid}", "meeting.scheduled", {"title": f"{region} partnership meeting", "at": iso(start + rng.randint(0, span)),
                                                            "location": f"{region} police HQ"})
                open_meetings.append(mid)
                if len(open_meetings) > 60:
                    open_meetings.pop(0)
            elif roll < 0.90:
                mid = rng.choice(open_meetings)
                r = rng.random()
                if r < 0.45:
                    emit(f"meeting:{mid}", "meeting.attendee-recorded", {"name": rng.choice(PEOPLE), "organisation": rng.choice(REGIONS)[1] + " OPCC"})
                elif r < 0.7:
                    emit(f"meeting:{mid}", "meeting.agenda-item-added", {"title": text(rng, 3, 7)})
                else:
                    emit(f"meeting:{mid}", "meeting.decision-recorded", {"decisionId": f"D{rng.randint(1, 9)}", "text": text(rng, 6, 14)})
            elif roll < 0.93 or not open_actions:
                serial[code] += 1
                aid = f"{code}-A{serial[code]:05d}"
                emit(f"action:{aid}", "action.raised", {"title": text(rng, 3, 8), "owner": rng.choice(PEOPLE), "due": iso(start + rng.randint(0, span))[:10],
                                                       "caseId": rng.choice(open_cases)})
                open_actions.append(aid)
                if len(open_actions) > 200:
                    open_actions.pop(0)
            else:
                aid = rng.choice(open_actions)
                emit(f"action:{aid}", "action.progress-noted", {"note": text(rng, 6, 14)})


def iso(millis):
    import datetime
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (millis % 1000)


if __name__ == "__main__":
    main()
