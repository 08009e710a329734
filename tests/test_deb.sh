#!/bin/bash
# test_deb.sh: the .deb installed with apt into a fresh debootstrapped Debian 12 chroot, as an
# operator installs it: files, modes and the conffile; the unit enabled but held back until the
# secret exists; agentwatchd -t on the shipped config; systemd-analyze verify on the installed
# units; the shipped config filled in, the daemon started from it and polling the simulator over
# TLS; the edited config kept over an upgrade; purge. The ways piuparts checks (install, upgrade
# from the previous build, remove, purge, leftovers) are packaging/piuparts.sh's, outside CI.
# usage: tests/test_deb.sh DEB  (tests/run.sh passes packaging/build-deb.sh's). As root, with
# debootstrap, chroot and the Debian mirror (packaging/mirror.sh); about a minute.
source "${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

deb=$(realpath "${1:?usage: test_deb.sh DEB}")
version=$(sed -n 's/^AC_INIT(\[agentwatchd\], \[\([^]]*\)\].*/\1/p' "$AW_SRC/configure.ac")
root=$AW_TMP/root
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# run NAME COMMAND...: in the chroot; stdout in $AW_TMP/NAME.out, stderr in .err, status in $rc.
run() {
    local name=$1; shift
    timeout 120 chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@" \
        >"$AW_TMP/$name.out" 2>"$AW_TMP/$name.err"
    rc=$?
}
expect_file() {   # expect_file DESCRIPTION FILE EXPECTED-TEXT: the whole file, line for line
    if diff -u <(printf '%s\n' "$3") "$2" >"$AW_TMP/diff"; then pass "$1"; else fail "$1:"; sed 's/^/    /' "$AW_TMP/diff"; fi
}
mode() { stat -c '%a %U:%G' "$root$1"; }

# --- A fresh Debian 12 and the package, with apt (which fetches its dependencies) ---

mirror=$("$AW_SRC/packaging/mirror.sh")
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$AW_TMP/debootstrap.log" 2>&1; then
    tail -20 "$AW_TMP/debootstrap.log"; echo "debootstrap from $mirror failed"; exit 99
fi
cp "$deb" "$root/tmp/"
# systemd and man-db too, as on a host that runs the service: systemd-analyze verify needs
# systemd's units, and checks each Documentation= man page with man.
run install env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "/tmp/$(basename "$deb")" systemd man-db
expect_eq "apt-get install of the .deb and systemd succeeds" "$rc" 0
[ "$rc" -eq 0 ] || { tail -20 "$AW_TMP/install.out" "$AW_TMP/install.err"; aw_done; }
expect_eq "installed, with the version of configure.ac" \
    "$(in_root dpkg-query -W -f='${Status} ${Version}' agentwatchd)" "install ok installed $version-1"

# --- What it installed ---

expect_eq "/etc/agentwatchd: 755 root:root (the dynamic user reads the config; no secret is shipped)" \
    "$(mode /etc/agentwatchd)" "755 root:root"
expect_eq "the config: 644 root:root" "$(mode /etc/agentwatchd/agentwatchd.conf)" "644 root:root"
check "the config is a conffile" \
    grep -q '^ /etc/agentwatchd/agentwatchd.conf [0-9a-f]\{32\}$' \
    <(in_root dpkg-query -W -f='${Conffiles}\n' agentwatchd)
expect_eq "the config is the shipped example" \
    "$(cmp "$root/etc/agentwatchd/agentwatchd.conf" "$AW_SRC/etc/agentwatchd.conf" && echo same)" same
missing=
for f in /usr/sbin/agentwatchd /usr/bin/agentwatchctl /usr/share/man/man8/agentwatchctl.8.gz \
    /lib/systemd/system/agentwatchd.service \
    /lib/systemd/system/agentwatchd@.service /usr/share/man/man8/agentwatchd.8.gz \
    /usr/share/man/man5/agentwatchd.conf.5.gz /usr/share/doc/agentwatchd/README.gz \
    /usr/share/doc/agentwatchd/copyright /usr/share/doc/agentwatchd/examples/agentwatchd.conf; do
    [ -f "$root$f" ] || missing+=" $f"
done
expect_eq "the binary, both units, the man pages, README, copyright and the example are there" "$missing" ""
check "the man page's footer names the version" \
    grep -qxF ".Os agentwatchd $version" <(zcat "$root/usr/share/man/man8/agentwatchd.8.gz")
expect_eq "the service is enabled (multi-user.target.wants)" \
    "$(readlink "$root/etc/systemd/system/multi-user.target.wants/agentwatchd.service")" \
    /lib/systemd/system/agentwatchd.service
check "the service waits for the secret: ConditionPathExists=/etc/agentwatchd/cms.secret" \
    grep -qx 'ConditionPathExists=/etc/agentwatchd/cms.secret' "$root/lib/systemd/system/agentwatchd.service"
check "no secret is shipped" test ! -e "$root/etc/agentwatchd/cms.secret"
run version agentwatchd --version
expect_eq "agentwatchd --version names the version" "$(head -1 "$AW_TMP/version.out")" "agentwatchd $version"

# --- The operator's first command on the shipped config: -t from a shell ---

run check agentwatchd -t
expect_eq "agentwatchd -t on the shipped config from a shell: exit 0" "$rc" 0
expect_file "agentwatchd -t: the summary, and where the secret will come from" "$AW_TMP/check.out" \
"/etc/agentwatchd/agentwatchd.conf: OK: 1003 agents in 3 groups; CMS https://cms.example.net:28443; poll every 5 s; outputs: journal
/etc/agentwatchd/agentwatchd.conf: the CMS secret will come from the systemd credential cms.secret; it is checked when the service starts"

# --- The installed units, as the installed systemd reads them ---

run verify systemd-analyze verify agentwatchd.service agentwatchd@east.service agentwatchd@west.service
expect_eq "systemd-analyze verify: the service and two instances of the template, clean" \
    "$(cat "$AW_TMP/verify.out" "$AW_TMP/verify.err")" ""
expect_eq "systemd-analyze verify: exit 0" "$rc" 0

# --- The shipped config filled in: the secret, the CMS (the simulator), one agent, stdout ---

aw_start_sim sim
install -m 600 "$AW_TMP/cms.secret" "$root/etc/agentwatchd/cms.secret"
cp "$AW_TMP/pki/ca.pem" "$root/etc/agentwatchd/cms-ca.pem"
conf=$root/etc/agentwatchd/agentwatchd.conf
sed -i -e "s|^  url = \"https://cms.example.net:28443\";|  url = \"https://127.0.0.1:$SIM_PORT\";|" \
    -e "s|^  app_key = \"my-ak\";|  app_key = \"$AW_AK\";|" \
    -e 's|^  # tls = {$|  tls = {|' -e 's|^  #   ca_file = \(.*\)|    ca_file = \1|' -e 's|^  # };$|  };|' \
    -e '/^  #   \(verify\|client_cert\|client_key\)/d' \
    -e '/ids = \[ 1100, 1101 \]\|range = \[ 2000, 2999 \]/d' -e 's|"alice"; },$|"alice"; }|' \
    -e 's|^  stdout = false; |  stdout = true;  |' -e 's|^  journal = true; |  journal = false;|' "$conf"
# As the unit runs it: the credential in $CREDENTIALS_DIRECTORY (mode 0400 like systemd's), state.
mkdir -p -m 700 "$root/run/credentials/agentwatchd.service" "$root/var/lib/agentwatchd"
install -m 400 "$AW_TMP/cms.secret" "$root/run/credentials/agentwatchd.service/cms.secret"
svc_env=(env CREDENTIALS_DIRECTORY=/run/credentials/agentwatchd.service)
run filled "${svc_env[@]}" agentwatchd -t
expect_eq "filled-in config, as ExecStartPre runs it: -t exits 0" "$rc" 0
expect_file "filled-in config: one agent, the simulator, stdout" "$AW_TMP/filled.out" \
"/etc/agentwatchd/agentwatchd.conf: OK: 1 agent in 1 group; CMS https://127.0.0.1:$SIM_PORT; poll every 5 s; outputs: stdout"

sim_set 1:170:1099 '"calls":["deb-1"]'
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    CREDENTIALS_DIRECTORY=/run/credentials/agentwatchd.service agentwatchd \
    >"$AW_TMP/daemon.out" 2>"$AW_TMP/daemon.err" &
daemon=$!
aw_pids+=("$daemon")
check "the installed daemon, started on the filled-in config, reports the call" \
    wait_for 30 grep -q '"type":"call.started",.*"agent":{"cc":1,"vdn":170,"id":1099,.*"call_id":"deb-1"' \
    "$AW_TMP/daemon.out"
aw_stop "$daemon" 15
expect_eq "and stops on SIGTERM with status 0" "$?" 0
check "its state went to /var/lib/agentwatchd" test -s "$root/var/lib/agentwatchd/agents.state"

# --- An upgrade keeps the operator's config (the same package with a newer version) ---

dpkg-deb -R "$deb" "$AW_TMP/next"
sed -i "s/^Version: .*/Version: $version-1+next1/" "$AW_TMP/next/DEBIAN/control"
dpkg-deb -b -Zgzip "$AW_TMP/next" "$root/tmp/next.deb" >/dev/null
cp "$conf" "$AW_TMP/edited.conf"
run upgrade env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/next.deb
expect_eq "upgrade to $version-1+next1: exit 0" "$rc" 0
expect_eq "upgrade: the new version is installed" "$(in_root dpkg-query -W -f='${Version}' agentwatchd)" \
    "$version-1+next1"
expect_eq "upgrade: the operator's edited config is kept as it was" \
    "$(cmp "$conf" "$AW_TMP/edited.conf" && echo kept)" kept
check "upgrade: no .dpkg-new or .dpkg-dist beside it" \
    test -z "$(ls "$root/etc/agentwatchd" | grep dpkg)"

# --- Purge: everything the package made goes; the operator's secret files stay ---

run purge env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q agentwatchd
expect_eq "apt-get purge: exit 0" "$rc" 0
left=
for f in /usr/sbin/agentwatchd /lib/systemd/system/agentwatchd.service \
    /etc/systemd/system/multi-user.target.wants/agentwatchd.service \
    /etc/agentwatchd/agentwatchd.conf /var/lib/agentwatchd /usr/share/doc/agentwatchd; do
    [ -e "$root$f" ] || [ -L "$root$f" ] && left+=" $f"
done
expect_eq "purge removes the binary, the units and their links, the config and the state" "$left" ""
expect_eq "purge leaves only the operator's own files in /etc/agentwatchd" \
    "$(ls "$root/etc/agentwatchd" | tr '\n' ' ')" "cms-ca.pem cms.secret "

expect_no_secret "no output showed the secret" "$AW_TMP"/*.out "$AW_TMP"/*.err
aw_done
