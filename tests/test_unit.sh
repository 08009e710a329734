#!/bin/bash
# test_unit.sh: the shipped systemd unit and the instance template agentwatchd@.service verify
# cleanly, with a security exposure of at most 2.0; two instances have their own files.
. "${srcdir:-.}/tests/lib.sh"

unit=$AW_TMP/agentwatchd.service
bash "$AW_SRC/packaging/unit.sh" "$AW_SRC/packaging/agentwatchd.service.in" "$AW_BUILD" /etc > "$unit"

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
expect_grep "the service starts once the secret is there" \
    '^ConditionPathExists=/etc/agentwatchd/cms.secret$' "$unit"
# systemctl help shows every page the project ships: Documentation= names each, and only those.
expect_eq "Documentation= names every man page shipped" \
    "$(sed -n 's/^Documentation=//p' "$unit" | tr ' ' '\n' | sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p' | sort | tr '\n' ' ')" \
    "$(cd "$AW_SRC/man" && ls -- *.[1-8] | sort | tr '\n' ' ')"

# --- The template: the same unit but for the lines that name one instance's files ---

mkdir "$AW_TMP/units"
template=$AW_TMP/units/agentwatchd@.service
bash "$AW_SRC/packaging/unit.sh" --template "$AW_SRC/packaging/agentwatchd.service.in" "$AW_BUILD" /etc \
    > "$template"
expect_eq "unit.sh --template succeeds" "$?" 0
diff "$unit" "$template" | sed -n 's/^> //p' > "$AW_TMP/template.diff"
expect_file_eq() {   # expect_file_eq DESCRIPTION FILE EXPECTED-TEXT
    if diff -u <(printf '%s\n' "$3") "$2" > "$AW_TMP/diff"; then pass "$1"; else fail "$1:"; sed 's/^/    /' "$AW_TMP/diff"; fi
}
expect_file_eq "the template differs from the service in exactly the instance's lines" "$AW_TMP/template.diff" \
"# agentwatchd@.service: instance %i, configured by /etc/agentwatchd/%i.conf; see agentwatchd(8), INSTANCES.
Description=Huawei CC-CMS agent call watcher, instance %i
ConditionPathExists=/etc/agentwatchd/%i.cms.secret
ExecStartPre=$AW_BUILD/agentwatchd -t -c /etc/agentwatchd/%i.conf
ExecStart=$AW_BUILD/agentwatchd -c /etc/agentwatchd/%i.conf
LoadCredential=cms.secret:/etc/agentwatchd/%i.cms.secret
StateDirectory=agentwatchd-%i"

# Two instances side by side, as systemd would load them from the one template.
systemd-analyze verify --man=no "$template" "$AW_TMP/units/agentwatchd@east.service" \
    "$AW_TMP/units/agentwatchd@west.service" >"$AW_TMP/verify-template.out" 2>&1
expect_eq "the template and two instances verify cleanly" "$(cat "$AW_TMP/verify-template.out")" ""
for i in east west; do
    systemd-analyze security --offline=true "$AW_TMP/units/agentwatchd@$i.service" >"$AW_TMP/sec-$i.out" 2>&1
    score=$(sed -n "s/.*Overall exposure level for agentwatchd@$i.service: \([0-9.]*\).*/\1/p" \
        "$AW_TMP/sec-$i.out")
    check "instance $i: exposure level $score is at most 2.0" \
        awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
done

# A change to the .in that the template's substitutions no longer match fails the build.
sed 's|^StateDirectory=agentwatchd$|StateDirectory=agentwatchd-data|' \
    "$AW_SRC/packaging/agentwatchd.service.in" > "$AW_TMP/changed.in"
bash "$AW_SRC/packaging/unit.sh" --template "$AW_TMP/changed.in" "$AW_BUILD" /etc \
    > /dev/null 2> "$AW_TMP/changed.err"
expect_eq "a template that would share state is refused" "$?" 1
expect_grep "and says which line is missing" "the template lacks 'StateDirectory=agentwatchd-%i'" \
    "$AW_TMP/changed.err"
aw_done
