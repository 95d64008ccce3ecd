#!/usr/bin/env bash
# Builds the `weir-python:<tag>` image the container kind's tests and examples
# run, without any registry: a minimal Debian (bookworm) with python3 and its standard library,
# bootstrapped from the Debian mirror apt is configured with, then imported.
# The tag is a hash of this script, so the image is rebuilt only when the
# script changes; an existing image is kept. `weir-python:latest` names the
# newest, for specs. Prints the image name (with its hash tag) on stdout.
# Needs a daemon: scripts/ensure-docker.sh.
set -euo pipefail

suite=bookworm
tag=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
image="weir-python:$tag"

# Specs name `weir-python:latest`; it follows the newest build.
if docker image inspect "$image" >/dev/null 2>&1; then
  docker tag "$image" weir-python:latest
  echo "$image"
  exit 0
fi

# The mirror apt uses for $suite: a one-line `deb URL SUITE ...` entry or a
# deb822 stanza whose Suites hold $suite.
mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v suite="$suite" '
    /^deb / { for (i = 3; i <= NF; i++) if ($i == suite) { print ($2 ~ /^\[/ ? $3 : $2); exit } }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uri != "") { print uri; exit } }
    /^$/ { uri = "" }
  ' "${files[@]}" 2>/dev/null | head -n 1
}

url=$(mirror)
if [ -z "$url" ]; then
  echo "sandbox-image: no apt source for $suite in /etc/apt/sources.list*" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "sandbox-image: installing debootstrap from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends debootstrap >&2
fi

dir=$(mktemp -d /tmp/weir-python.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "sandbox-image: bootstrapping $suite from $url into $dir" >&2
debootstrap --variant=minbase --include=python3 "$suite" "$dir" "$url" >&2
# Nothing the sandbox needs: package caches and docs.
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc "$dir"/usr/share/man
tar -C "$dir" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'USER 65534:65534' \
  - "$image" >/dev/null
docker tag "$image" weir-python:latest
echo "sandbox-image: built $image" >&2
echo "$image"
