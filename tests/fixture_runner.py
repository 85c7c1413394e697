#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Replay data fixtures (tests/fixtures/*.json) against a running koogate stack.

Usage:
    tests/fixture_runner.py [--env VAR/stack.env] [--only TEXT] [-v] [FIXTURE.json ...]
    tests/fixture_runner.py --selftest

The stack is described by the variables tools/stack.sh writes to $VAR/stack.env (KOOGATE_URL,
KOOGATE_BASIC_KEY, KOOGATE_KIT_KEY, KOOGATE_CONFIG, PGHOST, PGPORT, PGDATABASE, PGUSER); they are
taken from --env FILE or from the environment.

Requests are signed at replay time by the runner's own implementation of the KooGallery schemes
(spec/security.md): V2 basic `signature` over canonical JSON (§2, §4), V1 `authToken` (§1), V2 Kit
`x-sign` (§3) and V1 Kit `authToken` (§6, D13). Responses are checked for a valid `Body-Sign` (§5),
and `appInfo.userName`/`password` are decrypted (§7: Java SHA1PRNG key derivation here, AES-CBC by
the `openssl enc` command line). Before anything else the implementation is checked against the
test vectors of security.md §11; a mismatch aborts the run.

Python 3 standard library only, plus the `openssl` and `psql` command lines.
See tests/fixtures/README.md for the fixture format.

The runner lives in tests/runner/, one module per concern (tests/fixtures/README.md, "Where a new kind
of check goes"); this file is its command line, and keeps the names that tests/faults, tests/browser and
bench/ import from it.
Output: one line per case (`ok <file>:<name>` or `FAIL <file>:<name>: reason`), then a final line
`N passed, N failed`. Exit status 0 only if nothing failed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)   # the runner package beside this file (callers load this file by path)

from runner.cases import CaseState, Context, load_fixture, main as _main, read_env_file, run_case  # noqa: E402,F401
from runner.db import _PSQL_LOCK, _PSQL_SESSIONS, _close_psql_sessions, psql  # noqa: E402,F401
from runner.httpclient import Response, http_request, parse_raw_response  # noqa: E402,F401
from runner.jsontext import JsonError, Num, canonical_json, emit, parse_json  # noqa: E402,F401
from runner.kitcrypto import kit_user  # noqa: E402,F401
from runner.request import build_and_send  # noqa: E402,F401
from runner.selftest import selftest  # noqa: E402,F401
from runner.signing import (BODY_SIGN_RE, aes_decrypt, aes_encrypt, body_sign_value,  # noqa: E402,F401
                            kit_v1_auth_token, kit_xsign, v1_auth_token, v2_signature)
from runner.base import FixtureError  # noqa: E402,F401
from runner.variables import Scope, gen_order_id, subst  # noqa: E402,F401


def main(argv):
    return _main(argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
