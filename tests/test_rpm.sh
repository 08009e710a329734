#!/bin/bash
# test_rpm.sh: the RPM built with Debian's rpmbuild from the `make dist` tarball (whose spec
# configure wrote from packaging/rpm/agentwatchd.spec.in): its metadata, files, config and licence
# flags, the systemd scriptlets wired to systemd-rpm-macros, and rpmlint.
# usage: tests/test_rpm.sh TARBALL  (tests/run.sh passes the one make dist made). Needs rpm, rpmlint.
source "${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

tarball=$(realpath "${1:?usage: test_rpm.sh TARBALL}")
version=$(sed -n 's/^AC_INIT(\[agentwatchd\], \[\([^]]*\)\].*/\1/p' "$AW_SRC/configure.ac")
# Debian's rpm has neither Fedora's BuildRequires installed (--nodeps) nor systemd-rpm-macros;
# its brp-compress uses bash's read -d under #!/bin/sh, so it runs under bash here; and doc
# directories are unversioned as on Fedora.
build() {   # build TOPDIR [rpmbuild options...]: rpmbuild -tb; the log in TOPDIR.log
    local top=$1; shift
    rpmbuild -tb --nodeps --define "_topdir $top" \
        --define '__brp_compress bash /usr/lib/rpm/brp-compress %{_prefix}' \
        --define '_docdir_fmt %%{NAME}' "$@" "$tarball" \
        >"$top.log" 2>&1
}
mkdir "$AW_TMP/top"
build "$AW_TMP/top"
expect_eq "rpmbuild -tb on the make dist tarball succeeds" "$?" 0
rpm=$AW_TMP/top/RPMS/$(uname -m)/agentwatchd-$version-1.$(uname -m).rpm
[ -f "$rpm" ] || { tail -30 "$AW_TMP/top.log"; fail "no $rpm"; aw_done; }
check "its %check ran the unit tests" grep -q '^PASS: tests/test_cfg$' "$AW_TMP/top.log"

expect_eq "name, version of configure.ac, release" \
    "$(rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE}' "$rpm")" "agentwatchd $version 1"
rpm -qip "$rpm" > "$AW_TMP/info"
expect_grep "rpm -qip: the summary" '^Summary +: Huawei CC-CMS agent call watcher$' "$AW_TMP/info"
expect_grep "rpm -qip: the licence field" '^License +: LicenseRef-agentwatchd-none-chosen$' "$AW_TMP/info"

# Every file with its flags (c: %config, n: noreplace, d: %doc, l: %license) and mode.
rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms}\n]' "$rpm" |
    grep -v '^/usr/lib/\.build-id' > "$AW_TMP/files"
expect_file() {   # expect_file DESCRIPTION FILE EXPECTED-TEXT: the whole file, line for line
    if diff -u <(printf '%s\n' "$3") "$2" >"$AW_TMP/diff"; then pass "$1"; else fail "$1:"; sed 's/^/    /' "$AW_TMP/diff"; fi
}
units=/usr/lib/systemd/system
expect_file "rpm -qlp: the files, the config %config(noreplace), the licence %license" "$AW_TMP/files" \
"/etc/agentwatchd  drwxr-xr-x
/etc/agentwatchd/agentwatchd.conf cn -rw-r--r--
/usr/bin/agentwatchctl  -rwxr-xr-x
$units/agentwatchd.service  -rw-r--r--
$units/agentwatchd@.service  -rw-r--r--
/usr/sbin/agentwatchd  -rwxr-xr-x
/usr/share/doc/agentwatchd  drwxr-xr-x
/usr/share/doc/agentwatchd/README d -rw-r--r--
/usr/share/doc/agentwatchd/agentwatchd.conf d -rw-r--r--
/usr/share/licenses/agentwatchd  drwxr-xr-x
/usr/share/licenses/agentwatchd/COPYING l -rw-r--r--
/usr/share/man/man5/agentwatchd.conf.5.gz d -rw-r--r--
/usr/share/man/man8/agentwatchctl.8.gz d -rw-r--r--
/usr/share/man/man8/agentwatchd.8.gz d -rw-r--r--"
rpm2cpio "$rpm" | (mkdir "$AW_TMP/x" && cd "$AW_TMP/x" && cpio -idm --quiet)
check "the packaged unit runs /usr/sbin/agentwatchd on /etc/agentwatchd/agentwatchd.conf" \
    grep -qx 'ExecStart=/usr/sbin/agentwatchd -c /etc/agentwatchd/agentwatchd.conf' \
    "$AW_TMP/x$units/agentwatchd.service"
check "the packaged config is the shipped example" \
    cmp -s "$AW_TMP/x/etc/agentwatchd/agentwatchd.conf" "$AW_SRC/etc/agentwatchd.conf"

# Without systemd-rpm-macros (here) no scriptlets; with them (Fedora), the three systemd ones.
expect_eq "no systemd-rpm-macros: no empty scriptlets" "$(rpm -qp --scripts "$rpm")" ""
mkdir "$AW_TMP/fedora"
build "$AW_TMP/fedora" --define 'systemd_post() echo systemd_post %*' \
    --define 'systemd_preun() echo systemd_preun %*' \
    --define 'systemd_postun_with_restart() echo systemd_postun_with_restart %*'
expect_eq "with stand-ins for systemd-rpm-macros: rpmbuild succeeds" "$?" 0
rpm -qp --scripts "$AW_TMP/fedora/RPMS/$(uname -m)/agentwatchd-$version-1.$(uname -m).rpm" \
    > "$AW_TMP/scripts" 2>&1
for s in 'systemd_post agentwatchd.service' 'systemd_preun agentwatchd.service' \
    'systemd_postun_with_restart agentwatchd.service'; do
    expect_grep "%$s" "^echo $s\$" "$AW_TMP/scripts"
done

# rpmlint with Debian's defaults (openSUSE's rules) set to Fedora's where they differ: the
# findings that hold on Fedora must be nil.
echo 'CompressExtension = "gz"' > "$AW_TMP/fedora.toml"
cat > "$AW_TMP/rpmlintrc" <<'EOF'
# Local builds are unsigned, and Koji sets Packager; Fedora dropped Group: in 2018.
addFilter("no-signature")
addFilter("no-packager-tag")
addFilter("no-group-tag")
# Fedora's find-debuginfo strips into -debuginfo; Debian's rpm only runs strip -g.
addFilter("unstripped-binary-or-object")
# rpmlint 2.4 matches binaries against man page sections (8), not names (FilesCheck.py keeps
# the category of man_base_regex): agentwatchd.8 and agentwatchctl.8 are there.
addFilter("no-manual-page-for-binary agentwatch(d|ctl)$")
# The project has neither a home page nor a licence yet (packaging/COPYING).
addFilter("no-url-tag")
addFilter("invalid-license")
EOF
rpmlint -c "$AW_TMP/fedora.toml" -r "$AW_TMP/rpmlintrc" "$rpm" > "$AW_TMP/rpmlint.out" 2>&1
expect_eq "rpmlint: exit 0" "$?" 0
expect_grep "rpmlint: 0 errors, 0 warnings" ' 0 errors, 0 warnings' "$AW_TMP/rpmlint.out"
sed 's/^/    /' "$AW_TMP/rpmlint.out" | grep -E ': [EW]: ' || true
aw_done
