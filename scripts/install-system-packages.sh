#!/bin/sh
# CI only (`make test` runs it when CI is set): Debian packages the slow tests drive.
# - docker.io, docker-compose, debootstrap: the generated project's Docker tests. The tests start
#   their own daemon (tests/docker_engine.py) and build stand-ins for base images no registry
#   serves here.
# - chromium: the browser checks of the pages (tests/test_loop_pages.py), driven by Playwright over
#   the system binary (Playwright's own browser downloads are not reachable).
# - redis-server: the feature store's Redis online store (a project baked with feature_store=feast).
set -eu
packages=""
need() {  # need <command> <package>: add the package when the command is missing
  command -v "$1" >/dev/null 2>&1 || case " $packages " in
    *" $2 "*) ;;
    *) packages="$packages $2" ;;
  esac
}
need dockerd docker.io
need docker docker.io
need docker-compose docker-compose
need debootstrap debootstrap
need chromium chromium
need redis-server redis-server
[ -z "$packages" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: missing$packages, and apt-get as root is not available: the tests that need them will say so" >&2
  exit 0
fi
echo "install-system-packages: installing$packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $packages >/dev/null
