# SPDX-License-Identifier: ISC
"""The runner's signer against the test vectors of security.md §11; a mismatch stops every run."""

import urllib.parse

from .jsontext import canonical_json, parse_json
from .kitcrypto import kit_rsa_selftest
from .signing import (aes_decrypt, aes_encrypt, aes_key, body_sign_value, hmac_sha256, kit_v1_auth_token,
                      kit_v1_string, kit_xsign, sha1prng_bytes, v1_auth_token, v1_string_to_sign, v2_signature)

def selftest():
    """Returns a list of (name, error or None)."""
    results = []

    def check(name, got, want):
        results.append((name, None if got == want else "got %r, want %r" % (got, want)))

    def guard(name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report anything
            results.append((name, "exception: %s" % e))

    # V1-A / V1-B / V1-C
    v1a = ("activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c&customerId=68cbc86abc2018ab880d92f36422fa0e"
           "&expireTime=20200727153156&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1"
           "&timeStamp=20200727073711903&authToken=Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ=")
    pa = urllib.parse.parse_qsl(v1a, keep_blank_values=True)
    check("V1-A string", v1_string_to_sign(pa),
          "activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c&customerId=68cbc86abc2018ab880d92f36422fa0e"
          "&expireTime=20200727153156&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1&timeStamp=20200727073711903")
    check("V1-A", v1_auth_token("xxxxxxx", pa), "Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ=")
    check("V1-A received", dict(pa)["authToken"].replace(" ", "+"), "Gzbfjf9LHRBcI3bFVi++sLinCNOBF6qa7is1fvjEgYQ=")
    check("V1-B", v1_auth_token("test-access-key", pa), "RnasHBCr5x4SWKDzYdRzxPpw+dXKnhObZ4Mv3NOdwec=")
    pc = urllib.parse.parse_qsl("activity=queryInstance&instanceId=id-1%2Cid-2&testFlag=1&timeStamp=20230327065233980",
                                keep_blank_values=True)
    check("V1-C string", v1_string_to_sign(pc), "activity=queryInstance&instanceId=id-1,id-2&testFlag=1&timeStamp=20230327065233980")
    check("V1-C", v1_auth_token("test-access-key", pc), "ogOjtKwAT8bXaDKlHUSPw4KK7P0Ro7HRiYCvtmTFu1E=")

    # V2-A / V2-B
    def v2():
        body = b'{"testFlag":"0","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","activity":"queryInstance"}'
        canon = canonical_json(body)
        check("V2-A canonical", canon, b'{"activity":"queryInstance","instanceId":"10e758d0-31ad-4c4b-8f1b-81d03469a10e","testFlag":"0"}')
        check("V2-A inner", hmac_sha256("test-access-key", canon).hex(), "eeb70220ec016b83820fdd8df7395a177e6e37d77daa3a0b79ddf6055ccdf267")
        check("V2-A", v2_signature("test-access-key", "9FB42E04DF4594B1FAA50B304E647AD7154AB9B4F144A65F1168886540A8B24C",
                                   "1680508237508", canon),
              "679E06EDBD1395D2544BD6CF771F77C913C81FAFC8A09C3E14099405AA7D421C")
        body = (b'{"activity":"newInstance","orderId":"CS1906666666ABCDE","orderLineId":"CS1906666666ABCDE-000001",'
                b'"businessId":"61e834ba-7b97-4418-b8f7-e5345137278c","testFlag":"1"}')
        canon = canonical_json(body)
        check("V2-B canonical", canon, b'{"activity":"newInstance","businessId":"61e834ba-7b97-4418-b8f7-e5345137278c",'
                                       b'"orderId":"CS1906666666ABCDE","orderLineId":"CS1906666666ABCDE-000001","testFlag":"1"}')
        check("V2-B inner", hmac_sha256("test-access-key", canon).hex(), "fd7e28fa00fe6133c04c4f30bdbf915bdc200d3ebb32559b79d12403091960f6")
        check("V2-B", v2_signature("test-access-key", "RLLUammMSInlrNWb", "1680508066618", canon),
              "0A2CDACC034EE0497A34F4E6B725E2B18B93AFF2CB7FA97B5A2D6001B209C98E")
        check("V2-B Body-Sign", body_sign_value("test-access-key",
              b'{"resultCode":"000000","resultMsg":"success.","instanceId":"61e834ba-7b97-4418-b8f7-e5345137278c"}'),
              "aRBXOCZGi6thyORWTtOed/6S50JAtL1cRWgj9La/qfs=")
    guard("V2", v2)

    # CANON-1
    def canon1():
        body = ('{"b": {"z": 1, "a": null}, "a": "x\\/y \\u00e9 \\"q\\" \\\\ \\t \\u0001 \\u001f", "c": null, '
                '"B": [3, true, "s"], "_": 12.78}').encode()
        canon = canonical_json(body)
        want = '{"B":[3,true,"s"],"_":12.78,"a":"x/y \u00e9 \\"q\\" \\\\ \\t \\u0001 \\u001F","b":{"z":1,"a":null}}'.encode("utf-8")
        check("CANON-1", canon, want)
        check("CANON-1 hmac", hmac_sha256("test-access-key", canon).hex(),
              "93ad79f9d80fd935963f9adfc5d56c79f181bf2e0d5e7121195aa19266e30168")
    guard("CANON-1", canon1)

    # KIT-A / KIT-B / KIT-V1-A
    def kit():
        nonce, ts = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA", "1680508066618"
        body = (b'{"instanceId":"huaweitest123456","orderId":"CS1906666666ABCDE","tenantId":"68cbc86abc2018ab880d92f36422fa0e",'
                b'"tenantCode":"huawei","name":"huaweitest","domainName":"https://example.tenantaccount.com","flag":1,"testFlag":0,'
                b'"timeStamp":"20220413093539534"}')
        canon = canonical_json(body)
        check("KIT-A canonical", canon,
              b'{"domainName":"https://example.tenantaccount.com","flag":1,"instanceId":"huaweitest123456","name":"huaweitest",'
              b'"orderId":"CS1906666666ABCDE","tenantCode":"huawei","tenantId":"68cbc86abc2018ab880d92f36422fa0e","testFlag":0,'
              b'"timeStamp":"20220413093539534"}')
        check("KIT-A", kit_xsign("test-kit-key", nonce, ts, canon), "b75ebdffe07793d3ddc0e9a0872b890e8db11e5009f8aa04cc95f91b6632b108")
        check("KIT-A Body-Sign", body_sign_value("test-kit-key", b'{"resultCode":"000000","resultMsg":"Success"}'),
              "I6Ro5Uy8O1UScYEjmS474Hp9AZMlktYmTKs6dnUpe+8=")
        check("KIT-V1-A string", kit_v1_string(parse_json(body)),
              "domainName=https://example.tenantaccount.com&flag=1&instanceId=huaweitest123456&name=huaweitest"
              "&orderId=CS1906666666ABCDE&tenantCode=huawei&tenantId=68cbc86abc2018ab880d92f36422fa0e&testFlag=0"
              "&timeStamp=20220413093539534")
        check("KIT-V1-A", kit_v1_auth_token("test-kit-key", parse_json(body)), "R+MiYI6WRrb0xqWgJKjtk3bF89Vc8uo/pJilroZ8X0k=")
        body_b = ('{"instanceId":"huaweitest123456","tenantId":"68cbc86abc2018ab880d92f36422fa0e","appId":"app-0001",'
                  '"userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}],'
                  '"currentSyncTime":"20220413093539534","flag":1,"testFlag":0,"timeStamp":"20220413093539534","extra":null}').encode()
        canon = canonical_json(body_b)
        check("KIT-B canonical", canon,
              ('{"appId":"app-0001","currentSyncTime":"20220413093539534","flag":1,"instanceId":"huaweitest123456",'
               '"tenantId":"68cbc86abc2018ab880d92f36422fa0e","testFlag":0,"timeStamp":"20220413093539534",'
               '"userList":[{"userName":"zhangsan01","name":"张三","orgCode":"10000","role":"admin","enable":"true","employeeType":1}]}').encode())
        check("KIT-B", kit_xsign("test-kit-key", nonce, ts, canon), "192ad91776846c5482229d458662c66c304ceccaa7cfde92eb29553030e58e1c")
    guard("KIT", kit)

    # BODY-A / BODY-B
    check("BODY-A", body_sign_value("test-access-key", b'{"resultCode":"000000","resultMsg":"success."}'),
          "gw4QPFTQi+z0h6e2a3LogBWbT+b5cyVCeQdEdWUPCd4=")
    check("BODY-B", body_sign_value("test-access-key", '{"resultCode":"000000","resultMsg":"成功"}'.encode("utf-8")),
          "y4hxX74FBcrXl3xEn61bwBoFr9FKZdf8IwTPozjP5To=")

    # ENC-KEY (including the negative vector)
    for ak, k128, k256 in (
            ("test-access-key", "6f536770920007a4ebdbab7bc4237f83",
             "6f536770920007a4ebdbab7bc4237f83791e4c2f4d2ac6d51629c1f18c7aaeed"),
            ("9fa6c870-8bb0-4e9b-b71e-4c223300156f", "6de9c7fe5a9cd34b86611483e5124a8f",
             "6de9c7fe5a9cd34b86611483e5124a8fdd1fc74c4f54543ee7cd43c5195a3198"),
            ("k", "69a7bae3d37a83849ecef8f3ff9260b3", "69a7bae3d37a83849ecef8f3ff9260b35e01555d75554530cfad8b045e55c714")):
        check("ENC-KEY %s AES-128" % ak, aes_key(ak, 2).hex(), k128)
        check("ENC-KEY %s AES-256" % ak, aes_key(ak, 1).hex(), k256)
    bad = "6f536770920007a4ebdbab7bc4237f83791e4c2fb9999b10ab04cb6c2c1f8864"
    results.append(("ENC-KEY negative", None if aes_key("test-access-key", 1).hex() != bad
                    else "produced the wrong unsigned-carry key"))
    check("ENC-KEY negative reproduces", sha1prng_bytes("test-access-key", 32, signed=False).hex(), bad)

    # ENC-A1 .. ENC-D: encryption with a fixed IV, and decryption of each output
    for name, ak, pt, et, iv, out in (
            ("ENC-A1", "test-access-key", "admin", 2, "0123456789ABCDEF", "0123456789ABCDEFhC24zyF6UjMJ4hYdg0Octw=="),
            ("ENC-A2", "test-access-key", "admin", 1, "0123456789ABCDEF", "0123456789ABCDEFktnk72s93GqxwrdA0+jGbA=="),
            ("ENC-A3", "test-access-key", "P@ssw0rd!", 1, "0123456789ABCDEF", "0123456789ABCDEFXITGPpllDMZsTvMtlROxwA=="),
            ("ENC-B", "test-access-key", "13800000000", 1, "abcdefghijklmnop", "abcdefghijklmnopuQpoJWnufhMKG2UkH7lzXg=="),
            ("ENC-C", "9fa6c870-8bb0-4e9b-b71e-4c223300156f", "admin", 1, "0123456789ABCDEF",
             "0123456789ABCDEFxMSLODpYkaYHpLYiCdL08g=="),
            ("ENC-D", "test-access-key", "张三@example.com", 2, "ZYXWVUTSRQPONMLK",
             "ZYXWVUTSRQPONMLK+T23iYUhAUSrnDCRwvo2Hd8zKD1/GltxXuDvVw/Amwc=")):
        guard(name, lambda: check(name + " encrypt", aes_encrypt(ak, et, pt, iv), out))
        guard(name, lambda: check(name + " decrypt", aes_decrypt(ak, et, out), pt))
    guard("ENC-D query", lambda: check("ENC-D as V1 query value", aes_decrypt(
        "test-access-key", 2, urllib.parse.unquote_plus("ZYXWVUTSRQPONMLK%2BT23iYUhAUSrnDCRwvo2Hd8zKD1%2FGltxXuDvVw%2FAmwc%3D")),
        "张三@example.com"))
    results.extend(kit_rsa_selftest())   # RSA-1: the openssl OAEP options of ${rsa_oaep:...}
    return results
