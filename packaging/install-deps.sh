#!/bin/sh
# install-deps.sh: installs, with apt-get, whatever of the build and test dependencies is missing
# (the last line: the package tests of tests/run.sh; piuparts.sh installs piuparts itself).
set -eu

# What the build and tests/demo.sh need: `install-deps.sh build` installs only these, so that a
# first demo on a fresh system does not wait for the test suite's browser and servers.
build="build-essential autoconf automake pkg-config
libcurl4-openssl-dev libjson-c-dev libyajl-dev libconfig-dev libssl-dev libsystemd-dev libmicrohttpd-dev libcrypt-dev
python3 openssl curl"
packages="$build procps util-linux systemd rsyslog prometheus-alertmanager prometheus man-db mandoc
chromium fonts-dejavu-core
debhelper lintian debootstrap rpm rpmlint cpio file"
[ "${1:-}" = build ] && packages=$build

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: missing packages:$missing; run this as root" >&2
	exit 1
fi
echo "install-deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# rsyslog must not start as the system logger here: the tests run their own instances.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
