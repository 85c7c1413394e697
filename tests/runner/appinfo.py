# SPDX-License-Identifier: ISC
"""The `decrypt_app_info` check: every `appInfo.userName`/`password` decrypts with the basic key (§7),
within the D17 limits, to the account the database holds; optionally captured for later cases."""

from .db import psql
from .jsontext import emit
from .signing import aes_decrypt

def app_info_entries(obj):
    """queryInstance info[], or the top-level instanceId/appInfo of a V1 newInstance answer."""
    if isinstance(obj, dict) and "info" not in obj and isinstance(obj.get("appInfo"), dict):
        return [{"instanceId": obj.get("instanceId"), "appInfo": obj["appInfo"]}]
    return None


def capture_app_info(spec, resp, ctx, file_scope):
    """decrypt_app_info {"capture": {"var": "userName"|"password"}}: plaintexts of the first entry."""
    obj = resp.json()
    entries = app_info_entries(obj) or (obj.get("info") if isinstance(obj, dict) else None) or []
    errs = []
    for var, field in spec.get("capture", {}).items():
        try:
            file_scope.values[var] = aes_decrypt(ctx.basic_key, obj.get("encryptType", "1"), entries[0]["appInfo"][field])
        except (IndexError, KeyError, TypeError, ValueError) as e:
            errs.append("capture %s: cannot decrypt appInfo.%s: %s" % (var, field, e))
    return errs


def check_app_info(spec, resp, ctx):
    """Decrypt every info[].appInfo.userName/password; compare userName with the database."""
    if spec is True:
        spec = {}
    errs = []
    obj = resp.json()
    if not isinstance(obj, dict):
        return ["no JSON object to decrypt"]
    et = obj.get("encryptType", "1")
    if et not in ("1", "2"):
        errs.append("encryptType %s is not \"1\" or \"2\"" % emit(et))
        return errs
    info = app_info_entries(obj) or obj.get("info")   # V1 newInstance: the top-level appInfo
    if not isinstance(info, list) or not info:
        return ["no info[] entries to decrypt"]
    expect_by_id = spec.get("expect", {})
    for i, entry in enumerate(info):
        iid = entry.get("instanceId") if isinstance(entry, dict) else None
        app = entry.get("appInfo") if isinstance(entry, dict) else None
        if not isinstance(app, dict):
            errs.append("info[%d] (%s): no appInfo" % (i, iid))
            continue
        plain = {}
        for field in ("userName", "password"):
            v = app.get(field)
            if v is None:
                if spec.get("require", True):
                    errs.append("info[%d].appInfo.%s missing" % (i, field))
                continue
            try:
                plain[field] = aes_decrypt(ctx.basic_key, et, v)
            except ValueError as e:
                errs.append("info[%d].appInfo.%s (%r) does not decrypt with the basic key: %s" % (i, field, v, e))
                continue
            if len(plain[field].encode("utf-8")) > 31 or len(v) > 60:
                errs.append("info[%d].appInfo.%s: %d plaintext bytes / %d characters encrypted, D17 limits are 31 / 60"
                            % (i, field, len(plain[field].encode("utf-8")), len(v)))
            if plain[field] == "":
                errs.append("info[%d].appInfo.%s decrypts to an empty string" % (i, field))
        want = expect_by_id.get(iid, {})
        for field, value in want.items():
            if plain.get(field) != value:
                errs.append("info[%d].appInfo.%s decrypts to %r, expected %r" % (i, field, plain.get(field), value))
        if spec.get("db", True) and "userName" in plain and "userName" not in want:
            sql = spec.get("user_sql", "SELECT app_user_name FROM instance WHERE instance_id = '{instanceId}'")
            rows = psql(ctx, sql.replace("{instanceId}", str(iid).replace("'", "''")))
            if rows:
                if rows[0][0] != plain["userName"]:
                    errs.append("info[%d] (%s): userName decrypts to %r but instance.app_user_name is %r"
                                % (i, iid, plain["userName"], rows[0][0]))
            elif ctx.config.get("test_user_name") and plain["userName"] != ctx.config["test_user_name"]:
                errs.append("info[%d] (%s, no row): userName %r != config test_user_name %r"
                            % (i, iid, plain["userName"], ctx.config["test_user_name"]))
            if not rows and ctx.config.get("test_password") and plain.get("password") != ctx.config["test_password"]:
                errs.append("info[%d] (%s, no row): password does not equal config test_password" % (i, iid))
    return errs


def check(spec, resp, ctx, file_scope, first):
    """The decrypt_app_info entry of checks.RESPONSE_CHECKS; captures from the first good answer."""
    errs = check_app_info(spec, resp, ctx)
    if not errs and isinstance(spec, dict) and first:
        errs = capture_app_info(spec, resp, ctx, file_scope)
    return errs
