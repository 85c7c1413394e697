#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A fake of KooGallery's open API gateway for the test stack (Python standard
library only, independent of koogate's C code).

It checks what the real gateway checks: the SDK-HMAC-SHA256 signature over the
canonical request (security.md §9) with a known AK/SK, the signed headers, and
an X-Sdk-Date within 15 minutes. It serves Query Order answers built from the
recorded MOCKPERIODYEARNEW response, and can be told to fail.

  KOOGALLERY_SK=SK KOOGALLERY_USAGE_KEY=KEY koogallery.py --port P --cert C --key K --ak AK
  (the secrets come from this process's environment, never from argv, which `ps` shows to everyone)
  GET  /_control?fail=500&times=2   next 2 Query Order calls answer HTTP 500
  GET  /_control?fail=MKT.0250      answer that code, with its HTTP status of usage-and-open-api.md §5
                                    (MKT.0250 406, MKT.015x and APIG.0303 401, MKT.0101/0199 400, others 500)
  GET  /_control?fail=500&times=1&order=ID   the same, only for Query Order calls with that orderId
                                    (targeted failures do not depend on which call comes next)
  GET  /_requests                   JSON list of the calls received so far (path, query, host,
                                    verified, problem, answer: the HTTP status sent)
  POST /api/mkp-openapi-public/global/v1/isv/usage-data   the new usage push: checks the
       signature/ts/nonce headers over the exact body (security.md §10, --usage-key), that the body is
       compact with sorted keys (D35), every field's format and the 100-record limit; records each
       metering_sn it accepts.
  GET  /_control?usage_fail=500|MKT.xxxx&times=N   fail the next N pushes (with the code's HTTP status)
  GET  /_control?usage_slow=S&times=N   the next N pushes are read, checked and accepted (their records
                                    counted, as the real gateway would have processed them), but answered
                                    only S seconds later: a response timeout for the client
  GET  /_control?reject_sn=SN       refuse (MKT.9002) any batch holding that record
  GET  /_usage                      {"records": {metering_sn: times received}, "batches": N,
                                     "posts": N (every push received, failed ones included),
                                     "hosts": {Host header: accepted batches},
                                     "min_gap_s": "S.SS", the shortest time between two posts ("" before two)}
  GET  /_control?reset=1            forget requests, usage records, counters and every failure setting
"""
import argparse, base64, datetime, hashlib, hmac, json, os, re, ssl, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORDED = json.loads('{"resultCode":"MKT.0000","resultMsg":"Success","orderInfo":{"orderId":"MOCKPERIODYEARNEW","orderType":"NEW","createTime":"20241121090846","orderLine":[{"orderLineId":"MOCKPERIODYEARNEW-000001","chargingMode":"PERIOD","periodType":"year","periodNumber":1,"expireTime":"20251121235959","productInfo":[{"productId":"OFFI846204237451911168","skuCode":"0a4d1578-5295-46a7-92d4-7c803dccc51d","linearValue":50,"productName":"MOCK测试商品,测试规格,基础版,包周期"}],"extendParams":[{"name":"emailDomainName","value":"test.xxxx.com"},{"name":"ip","value":"127.0.0.1"}],"currency":"100","currencyAfterDiscount":"100"}],"buyerInfo":{"mobilePhone":"18688888888","email":null,"customerId":"459bbbec25d24749b2eb83be37b602a8","customerName":"mock_user_01","customerRealName":"测试用户1","customerType":0,"userId":null,"userName":null},"extendParams":[]}}')
QUERY_PATH = "/api/mkp-openapi-public/global/v1/order/query"
state = {"fail": None, "times": 0, "requests": [], "usage_fail": None, "usage_times": 0,
         "reject_sn": None, "usage": {}, "batches": 0, "nonces": set(), "order_fail": {},
         "posts": 0, "hosts": {}, "usage_slow": 0.0, "slow_times": 0, "post_at": []}
USAGE_PATH = "/api/mkp-openapi-public/global/v1/isv/usage-data"
# The HTTP status the gateway sends with each open-API code (usage-and-open-api.md §5).
FAIL_STATUS = {"MKT.0999": 500, "MKT.0100": 500, "MKT.0101": 400, "MKT.0199": 400, "MKT.0150": 401,
               "MKT.0151": 401, "MKT.0154": 401, "APIG.0303": 401, "MKT.0250": 406, "MKT.9001": 500, "MKT.9002": 500,
               "MKT.9003": 500, "MKT.9004": 500, "MKT.9005": 500}
TIME_RE = re.compile(r"^\d{8}T\d{6}Z$")
VALUE_RE = re.compile(r"^(0|[1-9]\d{0,11})(\.\d{1,4})?$")
lock = threading.Lock()


def uri_encode(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_request(method, path, query, headers, signed, body):
    segs = [uri_encode(urllib.parse.unquote(seg)) for seg in path.split("/")]
    uri = "/".join(segs)
    if not uri.endswith("/"):
        uri += "/"
    pairs = sorted((uri_encode(k), uri_encode(v)) for k, v in query)
    cq = "&".join(f"{k}={v}" for k, v in pairs)
    ch = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
    return "\n".join([method, uri, cq, ch, ";".join(signed), hashlib.sha256(body).hexdigest()])


def order_for(order_id, line_id):
    """The recorded answer, re-keyed; words in the orderId pick the charging mode (ONETIME, ONDEMAND;
    otherwise PERIOD, yearly, or monthly with MONTH), an upgraded SKU (CHANGE, UPGRADE) and a buyer
    e-mail address (EMAIL; the recorded answer has none). ONDEMANDPKG: a pay-per-use package."""
    doc = json.loads(json.dumps(RECORDED))
    info = doc["orderInfo"]
    info["orderId"] = order_id
    line = info["orderLine"][0]
    line["orderLineId"] = line_id or f"{order_id}-000001"
    if "ONETIME" in order_id:
        line["chargingMode"] = "ONE_TIME"
        line.pop("expireTime", None)
    elif "ONDEMANDPKG" in order_id:     # the package's mode is not published (D49); koogate matches PACKAGE
        line["chargingMode"] = "ON_DEMAND_PACKAGE"
        line.pop("expireTime", None)
    elif "ONDEMAND" in order_id:
        line["chargingMode"] = "ON_DEMAND"
        line.pop("expireTime", None)
    elif "MONTH" in order_id:
        line["periodType"] = "month"
    if "EMAIL" in order_id:
        info["buyerInfo"]["email"] = "buyer@example.com"
    if "CHANGE" in order_id or "UPGRADE" in order_id:
        line["productInfo"][0]["skuCode"] = "sku-upgraded"
        line["productInfo"][0]["linearValue"] = 100
    return doc


class Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (about 40 ms a call), which the real gateway does not add.
    disable_nagle_algorithm = True

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path != USAGE_PATH:
            return self.answer(404, {"error_code": "APIG.0101", "error_msg": "not found"})
        with lock:
            state["posts"] += 1
            state["post_at"].append(time.monotonic())
        problem = usage_problem(self.headers, body, self.server.usage_key)
        if problem:
            return self.answer(problem[0], {"error_code": problem[1], "error_msg": problem[2]})
        recs = json.loads(body)["usage_records"]
        with lock:
            fail = state["usage_fail"] if state["usage_times"] > 0 else None
            if fail:
                state["usage_times"] -= 1
            reject = state["reject_sn"]
            slow = state["usage_slow"] if state["slow_times"] > 0 else 0
            if slow:
                state["slow_times"] -= 1
        if fail == "500":
            return self.answer(500, {"error_code": "MKT.0999", "error_msg": "System internal error."})
        if fail:
            return self.answer(FAIL_STATUS.get(fail, 406), {"error_code": fail, "error_msg": "fake failure " + fail})
        if reject and any(r["metering_sn"] == reject for r in recs):
            return self.answer(500, {"error_code": "MKT.9002", "error_msg": "Invalid usage enties."})
        with lock:
            state["batches"] += 1
            host = self.headers.get("Host", "")
            state["hosts"][host] = state["hosts"].get(host, 0) + 1
            for r in recs:
                state["usage"][r["metering_sn"]] = state["usage"].get(r["metering_sn"], 0) + 1
        if slow:
            time.sleep(slow)
            try:
                self.answer(200, {"error_code": "MKT.0000", "error_msg": "Success."})
            except OSError:
                pass            # the client gave up waiting, as intended
            return None
        return self.answer(200, {"error_code": "MKT.0000", "error_msg": "Success."})

    server_version = "fake-koogallery"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, doc):
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def verify(self, body):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("SDK-HMAC-SHA256 "):
            return "no SDK-HMAC-SHA256 authorization"
        fields = dict(p.strip().split("=", 1) for p in auth[len("SDK-HMAC-SHA256 "):].split(","))
        if fields.get("Access") != self.server.ak:
            return "app not found"
        signed = fields.get("SignedHeaders", "").split(";")
        if "x-sdk-date" not in signed or signed != sorted(signed):
            return "x-sdk-date must be signed"
        date = self.headers.get("X-Sdk-Date", "")
        try:
            t = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return "bad X-Sdk-Date"
        if abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) > 900:
            return "signature expired"
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        creq = canonical_request(self.command, url.path, query, headers, signed, body)
        sts = "SDK-HMAC-SHA256\n%s\n%s" % (date, hashlib.sha256(creq.encode()).hexdigest())
        want = hmac.new(self.server.sk.encode(), sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, fields.get("Signature", "")):
            return "verify signature fail, canonicalRequest:" + creq.replace("\n", "|")
        return None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/_control":
            with lock:
                if "reset" in q:
                    state["requests"].clear()
                    state["usage"].clear()
                    state["batches"] = 0
                    state["posts"] = 0
                    state["hosts"].clear()
                    state["order_fail"].clear()
                    state["fail"] = state["usage_fail"] = state["reject_sn"] = None
                    state["times"] = state["usage_times"] = state["slow_times"] = 0
                    state["post_at"].clear()
                if "fail" in q and q.get("order"):
                    state["order_fail"][q["order"]] = [q.get("fail") or None, int(q.get("times", "1000000"))]
                elif "fail" in q:
                    state["fail"] = q.get("fail") or None
                    state["times"] = int(q.get("times", "1000000"))
                if "usage_fail" in q:
                    state["usage_fail"] = q.get("usage_fail") or None
                    state["usage_times"] = int(q.get("times", "1000000"))
                if "usage_slow" in q:
                    state["usage_slow"] = float(q["usage_slow"] or 0)
                    state["slow_times"] = int(q.get("times", "1000000"))
                if "reject_sn" in q:
                    state["reject_sn"] = q.get("reject_sn") or None
            return self.answer(200, {"ok": True})
        if url.path == "/_usage":
            with lock:
                at = state["post_at"]
                gaps = [b - a for a, b in zip(at, at[1:])]
                return self.answer(200, {"records": state["usage"], "batches": state["batches"],
                                         "posts": state["posts"], "hosts": state["hosts"],
                                         "min_gap_s": "%.2f" % min(gaps) if gaps else ""})
        if url.path == "/_requests":
            with lock:
                return self.answer(200, state["requests"])
        if url.path != QUERY_PATH:
            return self.answer(404, {"error_code": "APIG.0101", "error_msg": "not found"})
        problem = self.verify(b"")
        with lock:
            rec = {"path": url.path, "query": q, "host": self.headers.get("Host"),
                   "verified": problem is None, "problem": problem}
            state["requests"].append(rec)
            targeted = state["order_fail"].get(q.get("orderId", ""))
            if targeted and targeted[1] > 0:
                fail = targeted[0]
                targeted[1] -= 1
            else:
                fail = state["fail"] if state["times"] > 0 else None
                if fail:
                    state["times"] -= 1
        if problem:
            rec["answer"] = 401
            return self.answer(401, {"error_code": "APIG.0303", "error_msg": problem})
        if fail == "500":
            rec["answer"] = 500
            return self.answer(500, {"resultCode": "MKT.0999", "resultMsg": "System internal error."})
        if fail:
            rec["answer"] = FAIL_STATUS.get(fail, 400)
            return self.answer(rec["answer"], {"resultCode": fail, "resultMsg": "fake failure"})
        if not q.get("orderId"):
            rec["answer"] = 400
            return self.answer(400, {"resultCode": "MKT.0101", "resultMsg": "Invalid parameter"})
        rec["answer"] = 200
        return self.answer(200, order_for(q["orderId"], q.get("orderLineId", "")))


def usage_problem(headers, body, key):
    """What the marketplace would refuse in a usage push, or None."""
    ts, nonce, sig = headers.get("ts"), headers.get("nonce"), headers.get("signature")
    if not ts or not nonce or not sig:
        return 401, "MKT.0154", "signature, ts and nonce headers are required"
    if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > 300000:
        return 401, "MKT.0154", "ts is not a current epoch in milliseconds"
    want = base64.b64encode(hmac.new(key.encode(), b"ts=%s&nonce=%s&body=" % (ts.encode(), nonce.encode()) + body,
                                     hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(want, sig):
        return 401, "MKT.0154", "signature does not verify over the body"
    with lock:
        if nonce in state["nonces"]:
            return 401, "MKT.0154", "nonce reused"
        state["nonces"].add(nonce)
    try:
        doc = json.loads(body)
    except ValueError:
        return 400, "MKT.0101", "body is not JSON"
    if json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() != body:
        return 400, "MKT.0101", "body is not compact JSON with sorted keys (D35)"
    recs = doc.get("usage_records")
    if not isinstance(recs, list) or not recs:
        return 400, "MKT.0101", "usage_records missing"
    if len(recs) > 100:
        return 500, "MKT.9003", "Usage records extends size limit."
    for r in recs:
        for f in ("instance_id", "record_time", "begin_time", "end_time", "usage_value", "metering_sn"):
            if not isinstance(r.get(f), str) or not r[f]:
                return 400, "MKT.0101", f"{f} missing"
        if len(r["instance_id"]) > 64 or len(r["metering_sn"]) > 64:
            return 500, "MKT.0100", "field too long"
        if not all(TIME_RE.match(r[f]) for f in ("record_time", "begin_time", "end_time")):
            return 500, "MKT.0100", "bad time format"
        if not VALUE_RE.match(r["usage_value"]) or float(r["usage_value"]) <= 0:
            return 500, "MKT.0100", "usage_value must be > 0 with at most 4 decimals"
        begin = datetime.datetime.strptime(r["begin_time"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if (datetime.datetime.now(datetime.timezone.utc) - begin).days >= 21:
            return 500, "MKT.9004", "Record beginTime extends Limit."
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ak", required=True)
    a = ap.parse_args()
    sk = os.environ.get("KOOGALLERY_SK", "")
    if not sk:
        ap.error("KOOGALLERY_SK (the APIG secret key) must be set in the environment")
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.ak, srv.sk, srv.usage_key = a.ak, sk, os.environ.get("KOOGALLERY_USAGE_KEY", "")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
