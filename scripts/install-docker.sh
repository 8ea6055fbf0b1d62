#!/bin/sh
# CI only (`make test` runs it when CI is set): the Docker engine, Compose and debootstrap from
# Debian's packages, for the generated project's Docker tests. The tests start their own daemon
# (tests/docker_engine.py) and build stand-ins for base images no registry serves here.
set -eu
missing=""
for tool in dockerd docker docker-compose debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-docker: missing$missing, and apt-get as root is not available: the Docker tests will say so" >&2
  exit 0
fi
echo "install-docker: installing docker.io, docker-compose and debootstrap (missing:$missing)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends docker.io docker-compose debootstrap >/dev/null
