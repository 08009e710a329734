#!/bin/bash
# run.sh: the whole test suite from a fresh Debian 12: dependencies, a -Werror build and `make check`,
# the same again under AddressSanitizer + UndefinedBehaviorSanitizer, then `make distcheck`, then
# the Debian and RPM packages.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
packaging/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null

passed=0
failed=0
# suite NAME CONFIGURE-ARGS...: builds in build/NAME and runs make check, counting the results.
suite() {
	local name=$1 dir=$top/build/$1 rc=0
	shift
	echo "=== $name: build and make check"
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" >/dev/null && make -j"$(nproc)" >/dev/null) || return 1
	make -C "$dir" check -j2 || rc=1
	passed=$((passed + $(sed -n 's/^# PASS: *//p' "$dir/test-suite.log")))
	failed=$((failed + $(sed -n 's/^# FAIL: *//p' "$dir/test-suite.log") + \
		$(sed -n 's/^# ERROR: *//p' "$dir/test-suite.log")))
	[ "$rc" -eq 0 ] || sed -n '/^FAIL:\|^ERROR:/,$p' "$dir/test-suite.log" | head -200
	return $rc
}

status=0
suite plain CFLAGS="-O2 -g -Werror" || status=1
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
suite sanitize CFLAGS="-O1 -g -Werror $san" LDFLAGS="$san" || status=1
echo "=== distcheck"
# On failure: the summary lines, then the log of each failed test (distcheck leaves its tree).
distcheck_failed() {
	local log
	grep -E '^(FAIL|ERROR|XPASS):' "$top/build/distcheck.log"
	for log in $(grep -lE '^(FAIL|ERROR) ' \
		$(find "$top/build/plain" -path '*/_build/*' -name 'test_*.log' 2>/dev/null) /dev/null); do
		echo "--- $log"; tail -40 "$log"
	done
	tail -20 "$top/build/distcheck.log"
	echo "distcheck failed"
}
make -C "$top/build/plain" distcheck >"$top/build/distcheck.log" 2>&1 || { distcheck_failed; status=1; }
# The packages, once: the .deb built and lintian-clean (build-deb.sh), installed into a fresh
# Debian 12 chroot (test_deb.sh), and the .rpm from the dist tarball (test_rpm.sh). piuparts is
# packaging/piuparts.sh, outside CI (README, "Install").
package_test() {   # package_test NAME COMMAND...: one pass or fail, the output when it fails
	echo "=== packages: $1"
	if "${@:2}" >"$top/build/$1.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); status=1
		tail -60 "$top/build/$1.log"
	fi
}
make -C "$top/build/plain" dist >/dev/null 2>&1 || true
rm -rf "$top/build/deb"
package_test build-deb packaging/build-deb.sh -o "$top/build/deb"
package_test test_deb bash tests/test_deb.sh "$(ls "$top"/build/deb/agentwatchd_*.deb)"
package_test test_rpm bash tests/test_rpm.sh "$(ls -t "$top"/build/plain/agentwatchd-*.tar.gz | head -1)"
echo "$passed passed, $failed failed"
exit $status
