#!/bin/bash
# build-deb.sh: the Debian package from this tree, as a user builds it on Debian 12: `make dist`,
# that tarball as the .orig, packaging/debian as debian/, the version from configure.ac (the
# changelog is written here, naming the git commit), dpkg-buildpackage, then lintian --pedantic,
# which must report no error and no warning.
#
# usage: packaging/build-deb.sh [-r REVISION] [-o OUTDIR] [-n]
#   -r REVISION  the Debian revision, default 1 (packaging/piuparts.sh builds a 0 to upgrade from)
#   -o OUTDIR    where the results go, default build/deb in this tree
#   -n           no lintian
# As root it first installs what is missing: the Build-Depends of debian/control (apt-get
# build-dep), autoconf, automake and lintian. OUTDIR gets agentwatchd_VERSION-REVISION_ARCH.deb,
# agentwatchd-dbgsym_..._ARCH.deb, the source package, the .changes and lintian.txt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
rev=1
out=$top/build/deb
lint=true
while getopts r:o:n opt; do
	case $opt in
	r) rev=$OPTARG ;;
	o) out=$OPTARG ;;
	n) lint=false ;;
	*) echo "usage: $0 [-r REVISION] [-o OUTDIR] [-n]" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Dependencies: what debian/control and this script need, when missing and when we may.
if [ "$(id -u)" -eq 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	need=""
	for p in autoconf automake dpkg-dev lintian; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
	done
	mkdir -p "$work/control/debian"
	cp "$top/packaging/debian/control" "$work/control/debian/"
	if [ -n "$need" ] || ! (cd "$work/control" && dpkg-checkbuilddeps >/dev/null 2>&1); then
		echo "build-deb.sh: installing build dependencies"
		apt-get update -qq
		[ -z "$need" ] || apt-get install -y -qq --no-install-recommends $need >/dev/null
		apt-get build-dep -y -qq "$work/control" >/dev/null
	fi
fi

# The upstream tarball, exactly as `make dist` makes it.
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
if [ -f "$top/config.status" ]; then	# configured in the tree itself: no separate build dir
	make -C "$top" -s dist >/dev/null
	tarball=$(ls -t "$top"/agentwatchd-*.tar.gz | head -1)
	mv "$tarball" "$work/"
else
	mkdir "$work/dist"
	(cd "$work/dist" && "$top/configure" -q && make -s dist >/dev/null)
	mv "$work"/dist/agentwatchd-*.tar.gz "$work/"
fi
tarball=$(ls "$work"/agentwatchd-*.tar.gz)
version=$(basename "$tarball" .tar.gz)
version=${version#agentwatchd-}

# The source tree: the tarball as the .orig, its packaging/debian as debian/.
src=$work/agentwatchd-$version
mv "$tarball" "$work/agentwatchd_$version.orig.tar.gz"
tar -C "$work" -xzf "$work/agentwatchd_$version.orig.tar.gz"
cp -a "$src/packaging/debian" "$src/debian"

# The changelog: the version of configure.ac, and where the tree came from.
maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
if commit=$(git -C "$top" rev-parse --short=12 HEAD 2>/dev/null); then
	git -C "$top" diff --quiet HEAD 2>/dev/null || commit="$commit with uncommitted changes"
	when=$(git -C "$top" log -1 --format=%aD)
else
	commit="a tree outside git"
	when=$(date -R)
fi
cat > "$src/debian/changelog" <<EOF
agentwatchd ($version-$rev) unstable; urgency=medium

  * Built by packaging/build-deb.sh from $commit.

 -- $maint  $when
EOF

(cd "$src" && dpkg-buildpackage -us -uc >"$work/build.log" 2>&1) ||
	{ tail -40 "$work/build.log"; echo "build-deb.sh: dpkg-buildpackage failed" >&2; exit 1; }
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes=agentwatchd_$version-${rev}_$arch.changes
for f in $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* //p' "$work/$changes") "$changes"; do
	cp "$work/$f" "$out/"
done
cp "$work/build.log" "$out/build.log"
echo "build-deb.sh: $out/agentwatchd_$version-${rev}_$arch.deb"

$lint || exit 0
# Errors and warnings fail the build; pedantic and informational tags are printed.
status=0
lintian --pedantic --info --display-experimental --fail-on error,warning "$out/$changes" \
	> "$out/lintian.txt" 2>&1 || status=$?
cat "$out/lintian.txt"
if [ "$status" -ne 0 ]; then
	echo "build-deb.sh: lintian found errors or warnings (above; also $out/lintian.txt)" >&2
	exit 1
fi
echo "build-deb.sh: lintian --pedantic: no errors, no warnings"
