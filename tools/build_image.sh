#!/usr/bin/env bash
# Build the medialens image from the Dockerfile without a Docker engine (buildah, as root), then run
# tests/integration/test_compose.py with the compose services started from that image.
#
#   sudo apt-get install -y buildah debootstrap
#   bash tools/build_image.sh            # base image from Debian bookworm, medialens image, compose test
#
# Where Docker Hub is reachable, `docker build .` (or `buildah bud .`) with the default python:3.11-slim base is
# all that is needed. This script is for machines that reach only Debian's archive and PyPI: it makes a Debian
# bookworm base (Python 3.11 and venv) with debootstrap and passes it as BASE_IMAGE. Certificates that this
# machine trusts (a TLS-inspecting proxy's, say) are copied into that base so that pip inside the build works.
set -euo pipefail
cd "$(dirname "$0")/.."
B=(buildah --storage-driver vfs)
BASE=localhost/medialens-base:bookworm
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if ! "${B[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$WORK/rootfs" \
    http://deb.debian.org/debian
  cp /usr/local/share/ca-certificates/*.crt "$WORK/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$WORK/rootfs" update-ca-certificates
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb
  ctr=$("${B[@]}" from scratch)
  mnt=$("${B[@]}" mount "$ctr")
  cp -a "$WORK/rootfs/." "$mnt/"
  "${B[@]}" umount "$ctr" >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env PIP_CERT=/etc/ssl/certs/ca-certificates.crt --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$ctr"
  "${B[@]}" commit -q "$ctr" "$BASE" >/dev/null
  "${B[@]}" rm "$ctr" >/dev/null
fi

"${B[@]}" bud --isolation chroot --build-arg "BASE_IMAGE=$BASE" -t localhost/medialens:latest .
ctr=$("${B[@]}" from localhost/medialens:latest)
trap 'rm -rf "$WORK"; "${B[@]}" rm "$ctr" >/dev/null' EXIT
"${B[@]}" run --isolation chroot "$ctr" -- medialens --help >/dev/null
MEDIALENS_TEST_BUILDAH_CONTAINER=$ctr CI=1 .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/integration/test_compose.py
