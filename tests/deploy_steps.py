#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tests/deploy_steps.py NAME... — prints the shell blocks of the README's "Deploying" section that
follow `<!-- step: NAME -->`, so the install and package tests run exactly the documented steps.
--list prints the step names in order."""
import os
import re
import sys

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def steps():
    text = open(README, encoding="utf-8").read()
    m = re.search(r"^## Deploying\n(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        sys.exit("deploy_steps: README has no '## Deploying' section")
    return re.findall(r"<!-- step: ([a-z-]+) -->\n```sh\n(.*?)```", m.group(1), re.S)


def main(argv):
    found = steps()
    if argv[1:] == ["--list"]:
        print("\n".join(n for n, _ in found))
        return 0
    table = dict(found)
    for name in argv[1:]:
        if name not in table:
            sys.stderr.write("deploy_steps: no step '%s' in README (have: %s)\n" % (name, ", ".join(table)))
            return 1
        sys.stdout.write(table[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
