# SPDX-License-Identifier: ISC
"""The fake KooGallery gateway (tests/fakes/koogallery.py): its control pages, and the `fake_usage` check
(how often it accepted each usage record)."""

from .base import FixtureError
from .db import psql
from .httpclient import http_request

def fake_get(ctx, path):
    if not ctx.fake_url:
        raise FixtureError("the stack has no fake KooGallery gateway (KOOGATE_FAKE_URL)")
    resp = http_request("GET", ctx.fake_url + path, [("Accept", "application/json")], None, cafile=ctx.fake_ca)
    if resp.status != 200 or resp.json() is None:
        raise FixtureError("fake %s: HTTP %d %s" % (path, resp.status, resp.excerpt(200)))
    return resp.json()


def check_fake_usage(ctx, checks):
    """[{"sql": "SELECT metering_sn ...", "count": 1, "n": 250}] or [{"sn": "...", "count": 0}]: how often
    the fake accepted each record (in an accepted batch)."""
    errs = []
    got = fake_get(ctx, "/_usage").get("records", {})
    for chk in checks:
        sns = [chk["sn"]] if "sn" in chk else [r[0] for r in psql(ctx, chk["sql"])]
        if "n" in chk and len(sns) != int(chk["n"]):
            errs.append("fake_usage: %d records selected, expected %d" % (len(sns), int(chk["n"])))
        want = int(chk.get("count", 1))
        bad = [(sn, int(got.get(sn, 0))) for sn in sns if int(got.get(sn, 0)) != want]
        if bad:
            errs.append("fake_usage: %d of %d records not received exactly %d time(s), e.g. %s x%d"
                        % (len(bad), len(sns), want, bad[0][0], bad[0][1]))
    return errs
