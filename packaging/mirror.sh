#!/bin/bash
# mirror.sh: prints the Debian mirror for debootstrap: $MIRROR, else the bookworm source of this
# machine's apt (deb822 .sources first, then one-line lists), else http://deb.debian.org/debian.
set -u

from_apt() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk 'BEGIN { RS = "" }
			/Suites:[^\n]*bookworm([ \n]|$)/ && !/security/ && match($0, /URIs: *[^ \n]+/) {
				u = substr($0, RSTART, RLENGTH); sub(/URIs: */, "", u); print u; exit }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p'
}

mirror=${MIRROR:-$(from_apt | head -1)}
echo "${mirror:-http://deb.debian.org/debian}"
