#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tools/build-deb.sh — `make deb`: builds the Debian package with dpkg-buildpackage -us -uc -b from a
# copy of the source tree (tracked and new files, nothing ignored) in build/deb/, so that the build's
# outputs, which dpkg-buildpackage writes next to the tree, stay inside build/. Needs the build
# dependencies of debian/control (apt-get build-dep ./ or tools/deps.sh --package).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
version=$(dpkg-parsechangelog -S Version)
[ "$version" = "$(cat VERSION)" ] || { echo "build-deb: debian/changelog says $version, VERSION says $(cat VERSION)" >&2; exit 1; }
out="$REPO/build/deb"
src="$out/koogate-$version"
rm -rf "$out"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$src"
( cd "$src" && dpkg-buildpackage -us -uc -b )
ls "$out"/*.deb
