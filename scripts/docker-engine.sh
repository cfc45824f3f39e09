#!/usr/bin/env bash
# Install and start a Docker engine on a Debian machine (as root), and make a local base image
# for the container build when no registry can be reached.
#
#   scripts/docker-engine.sh            # engine only
#   scripts/docker-engine.sh --base     # engine + local image isles2018-base:bookworm
#
# The base image is Debian bookworm (Python 3.11) made with debootstrap and `docker import`,
# with the host's CA bundle inside. Elsewhere, build from python:3.11-slim instead.
set -euo pipefail
BASE_TAG=${BASE_TAG:-isles2018-base:bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  (dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/dockerd.log" >&2; exit 1; }
fi
echo "docker engine: $(docker version --format '{{.Server.Version}}')"

if [ "${1:-}" = "--base" ]; then
  if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    echo "base image $BASE_TAG already present"
    exit 0
  fi
  rootfs=$(mktemp -d /tmp/isles2018-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$MIRROR" >/tmp/debootstrap.log 2>&1 \
    || { echo "debootstrap failed; see /tmp/debootstrap.log" >&2; exit 1; }
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
  tar -C "$rootfs" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$BASE_TAG" >/dev/null
  echo "base image $BASE_TAG: $(docker image inspect "$BASE_TAG" --format '{{.Size}}') bytes"
fi
