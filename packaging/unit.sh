#!/bin/sh
# unit.sh: writes a unit from agentwatchd.service.in to stdout: the service, or with --template
# agentwatchd@.service, whose instance NAME has its own /etc/agentwatchd/NAME.conf, credential
# source /etc/agentwatchd/NAME.cms.secret and state directory /var/lib/agentwatchd-NAME.
# usage: unit.sh [--template] IN SBINDIR SYSCONFDIR
set -eu

template=false
if [ "${1:-}" = --template ]; then
	template=true
	shift
fi
[ $# -eq 3 ] || { echo "usage: unit.sh [--template] IN SBINDIR SYSCONFDIR" >&2; exit 2; }
in=$1 sbindir=$2 sysconfdir=$3
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

sed -e "s|@sbindir[@]|$sbindir|g" -e "s|@sysconfdir[@]|$sysconfdir|g" "$in" > "$tmp"
if ! $template; then
	cat "$tmp"
	exit 0
fi

# One unit file for both: the template is the service with these lines changed per instance.
etc="$sysconfdir/agentwatchd"
sed -e "1s|^# agentwatchd\.service:.*|# agentwatchd@.service: instance %i, configured by $etc/%i.conf; see agentwatchd(8), INSTANCES.|" \
	-e 's|^Description=.*|&, instance %i|' \
	-e "s|$etc/agentwatchd\.conf|$etc/%i.conf|g" \
	-e "s|^\\(LoadCredential=cms\\.secret:\\)$etc/cms\\.secret\$|\\1$etc/%i.cms.secret|" \
	-e "s|^\\(ConditionPathExists=\\)$etc/cms\\.secret\$|\\1$etc/%i.cms.secret|" \
	-e 's|^StateDirectory=agentwatchd$|StateDirectory=agentwatchd-%i|' "$tmp" > "$tmp.t"
mv "$tmp.t" "$tmp"
# A change to the .in that these patterns no longer match must not make a template sharing state.
for line in "ExecStartPre=$sbindir/agentwatchd -t -c $etc/%i.conf" \
	"ExecStart=$sbindir/agentwatchd -c $etc/%i.conf" \
	"LoadCredential=cms.secret:$etc/%i.cms.secret" \
	"ConditionPathExists=$etc/%i.cms.secret" 'StateDirectory=agentwatchd-%i'; do
	grep -qxF "$line" "$tmp" || { echo "unit.sh: the template lacks '$line': fix $in or unit.sh" >&2; exit 1; }
done
if grep -v '^#' "$tmp" | grep -qF -e "$etc/agentwatchd.conf" -e "$etc/cms.secret"; then
	echo "unit.sh: the template still names the single service's files: fix $in or unit.sh" >&2
	exit 1
fi
cat "$tmp"
