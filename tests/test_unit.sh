#!/bin/bash
# test_unit.sh: the shipped systemd unit verifies cleanly and its security exposure is at most 2.0.
. "${srcdir:-.}/tests/lib.sh"

unit=$AW_TMP/agentwatchd.service
sed -e "s|@sbindir@|$AW_BUILD|g" -e "s|@sysconfdir@|/etc|g" \
    "$AW_SRC/packaging/agentwatchd.service.in" > "$unit"

# verify also runs man for Documentation=; the pages are not installed here, so those lines go.
systemd-analyze verify --man=no "$unit" >"$AW_TMP/verify.out" 2>&1
expect_eq "systemd-analyze verify is clean" "$(cat "$AW_TMP/verify.out")" ""

systemd-analyze security --offline=true "$unit" >"$AW_TMP/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for agentwatchd.service: \([0-9.]*\).*/\1/p' "$AW_TMP/security.out")
check "exposure level $score is at most 2.0" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'

for key in Type=notify DynamicUser=yes StateDirectory=agentwatchd ProtectSystem=strict \
    NoNewPrivileges=yes 'CapabilityBoundingSet=$' 'LoadCredential=cms.secret:' \
    'RestrictAddressFamilies=' 'SystemCallFilter=@system-service' 'WatchdogSec='; do
    expect_grep "unit sets $key" "^$key" "$unit"
done
# Ordered after the clock is synchronised, without pulling that in (systemd.special(7)).
expect_grep "unit orders After=time-sync.target" '^After=.*time-sync\.target' "$unit"
check "unit does not pull time-sync.target in" bash -c "! grep -q '^Wants=.*time-sync' '$unit'"
aw_done
