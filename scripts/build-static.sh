#!/usr/bin/env bash
# Builds bot exactly as the Dockerfile does (CGO_ENABLED=0, -trimpath, the
# version stamped with -ldflags) into dist/, then checks that the binary is
# statically linked, carries those flags, and prints the stamped version.
# There is no container engine on CI machines: this is how CI knows the
# image's binary would work on distroless/static.
#
#   scripts/build-static.sh            # VERSION from git describe, or "dev"
#   VERSION=v1.2.3 scripts/build-static.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "build-static: $*" >&2; exit 1; }

if [ -z "${VERSION:-}" ]; then
  VERSION=$(git describe --tags --always --dirty 2>/dev/null || true)
  VERSION=${VERSION:-dev}
fi
case "$VERSION" in
  *[!A-Za-z0-9._+-]*) fail "VERSION '$VERSION' may hold only letters, digits and . _ + -" ;;
esac

out=dist/bot
mkdir -p dist
echo "--- go build ($VERSION) → $out"
# The same command as the Dockerfile's build stage.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o "$out" ./cmd/bot

echo "--- static?"
if command -v file >/dev/null 2>&1; then
  desc=$(file -b "$out")
  echo "file: $desc"
  case "$desc" in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) fail "$out is not statically linked: $desc" ;;
  esac
  case "$desc" in
    *", stripped"*) ;;
    *) fail "$out is not stripped: was it built without -ldflags \"-s -w\"?" ;;
  esac
elif command -v ldd >/dev/null 2>&1; then
  # ldd exits non-zero on a static binary; what it prints is what counts.
  desc=$(ldd "$out" 2>&1 || true)
  echo "ldd: $desc"
  case "$desc" in
    *"not a dynamic executable"*|*"statically linked"*) ;;
    *) fail "$out links shared libraries: $desc" ;;
  esac
else
  fail "neither file nor ldd is installed: cannot tell whether $out is static (apt-get install file)"
fi

echo "--- build flags (go version -m)"
info=$(go version -m "$out")
echo "$info" | grep -E '^\s+(path|build)\s' || true
# Go leaves -ldflags out of the build info when -trimpath is on (it may hold
# paths, golang/go#52372): "-s" shows as "stripped" in file's answer above,
# and the -X stamp is checked by running the binary below.
for want in "CGO_ENABLED=0" "-trimpath=true"; do
  grep -qF -- "build	$want" <<<"$info" || fail "go version -m $out lacks the build setting $want"
done

echo "--- $out version"
got=$("./$out" version)
echo "$got"
[ "$got" = "release-bot $VERSION" ] || fail "'$out version' printed '$got', want 'release-bot $VERSION'"
echo "build-static: ok ($out, $(du -h "$out" | cut -f1), static, release-bot $VERSION)"
