#!/bin/bash
# piuparts.sh: tests the Debian package with piuparts in a fresh debootstrapped Debian 12 chroot:
# install then purge; and install the previous build (through apt), upgrade to this one, remove,
# purge. Every step must leave the chroot clean. Not part of CI: a debootstrap and two package
# builds take minutes (README, "Install"). Run it as root on Debian 12.
#
# usage: packaging/piuparts.sh [PREVIOUS.deb]
#   PREVIOUS.deb  the build to upgrade from; default this tree built as Debian revision 0
# Environment: MIRROR, the Debian mirror for debootstrap and apt in the chroot; default as
# packaging/mirror.sh finds it (this machine's bookworm source).
# Output in build/piuparts/: piuparts.log, and bookworm.tgz, the chroot kept for the next run
# (delete it for a fresh debootstrap).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build/piuparts
[ "$(id -u)" -eq 0 ] || { echo "piuparts.sh: run this as root (piuparts chroots)" >&2; exit 1; }
[ $# -le 1 ] || { echo "usage: $0 [PREVIOUS.deb]" >&2; exit 2; }
previous=${1:+$(realpath "$1")}

need=""
for p in piuparts debootstrap dpkg-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

mirror=$("$top/packaging/mirror.sh")

rm -rf "$dir/new" "$dir/old" "$dir/repo"
mkdir -p "$dir/repo"
"$top/packaging/build-deb.sh" -n -o "$dir/new" >/dev/null
new=$(ls "$dir"/new/agentwatchd_*.deb)
if [ -z "$previous" ]; then
	"$top/packaging/build-deb.sh" -n -r 0 -o "$dir/old" >/dev/null
	previous=$(ls "$dir"/old/agentwatchd_*.deb)
fi
# The previous build goes in a local apt repository: piuparts upgrades from what apt can install.
cp "$previous" "$dir/repo/"
(cd "$dir/repo" && dpkg-scanpackages . > Packages 2>/dev/null)

tgz=$dir/bookworm.tgz
if [ -f "$tgz" ]; then base=(-b "$tgz"); else base=(-s "$tgz"); fi
echo "piuparts.sh: $(basename "$previous") -> $(basename "$new") in bookworm from $mirror"
status=0
rm -f "$dir/piuparts.log"	# piuparts appends
piuparts -d bookworm -m "$mirror" "${base[@]}" -l "$dir/piuparts.log" \
	--bindmount "$dir/repo" --extra-repo "deb [trusted=yes] file://$dir/repo ./" \
	"$new" > /dev/null 2>&1 || status=$?
grep -E ' (PASS|FAIL|ERROR):' "$dir/piuparts.log" || true
tail -1 "$dir/piuparts.log"
if [ "$status" -ne 0 ]; then
	echo "piuparts.sh: piuparts failed (status $status): see $dir/piuparts.log" >&2
	exit 1
fi
echo "piuparts.sh: install, upgrade from $(basename "$previous"), remove and purge: clean"
