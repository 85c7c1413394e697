# SPDX-License-Identifier: ISC
"""The fixture runner behind tests/fixture_runner.py, one module per concern, lowest first:

    base        FixtureError, paths
    jsontext    JSON with literal numbers and key order; canonical JSON (security.md §4)
    signing     the signature schemes and appInfo encryption (§1-§3, §5-§7); kitcrypto: Kit RSA and users
    selftest    the signer against the §11 vectors
    httpclient  HTTP/1.1 with the exact answer bytes
    match       subset matching and its $ operators; paths for captures
    db          psql sessions, the `db` check, unsealing
    fake        the fake KooGallery gateway, the `fake_usage` check
    variables   ${...} variables and `let` operators
    appinfo     the `decrypt_app_info` check
    checks      the base answer checks and the tables of the other checks (where a new kind goes)
    request     building, signing and sending a request
    commands    command and sql cases
    cases       Context, fixture files, request cases, the command line
"""
