"""Schemathesis hooks for Concord's sync API: NDJSON request bodies.

docs/openapi.yaml describes a push body (application/x-ndjson) as an array of exchange lines;
this serializer sends such an array as one JSON object a line. Anything else the generator makes
(negative cases: a number, an object, a string) is sent as one line or as it is, so the server
sees a malformed push and must refuse it.
"""
import json

import schemathesis


def _line(item):
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return "".join(_line(item) + "\n" for item in value).encode("utf-8")
    return (_line(value) + "\n").encode("utf-8")
