# SPDX-License-Identifier: ISC
"""What every part of the fixture runner shares: the error a fixture (not koogate) is to blame for, and
where the repository is."""

import os

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # tests/
REPO = os.path.dirname(TESTS)


class FixtureError(Exception):
    pass
