#!/bin/bash
# test_check_config.sh: agentwatchd -t on the shipped configuration (from a shell and under the
# service) and on one full of mistakes, the command line's own errors, --version and -h.
# Needs no simulator and no network.
source "${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

# run NAME COMMAND...: stdout in $AW_TMP/NAME.out, stderr in $AW_TMP/NAME.err, status in $rc.
# Every run is bounded, and every run's output is checked for the secret at the end.
run() {
    local name=$1; shift
    timeout 20 "$@" >"$AW_TMP/$name.out" 2>"$AW_TMP/$name.err"
    rc=$?
}

# expect_file DESCRIPTION FILE EXPECTED-TEXT: the whole file, line for line.
expect_file() {
    if diff -u <(printf '%s' "$3") "$2" >"$AW_TMP/diff"; then
        pass "$1"
    else
        fail "$1:"; sed 's/^/    /' "$AW_TMP/diff"
    fi
}

expect_usage() {    # expect_usage DESCRIPTION NAME MESSAGE-PATTERN: exit 2, the reason, then usage
    expect_eq "$1: exit 2" "$rc" 2
    expect_grep "$1: says why" "$3" "$AW_TMP/$2.err"
    expect_grep "$1: prints the usage" '^usage: agentwatchd ' "$AW_TMP/$2.err"
    expect_eq "$1: nothing on stdout" "$(cat "$AW_TMP/$2.out")" ""
}

# The configuration directory as the daemon resolves it: file names in messages are absolute.
dir=$(cd "$AW_TMP" && pwd -P)
printf '%s\n' "$AW_SECRET" > "$AW_TMP/cms.secret"
chmod 600 "$AW_TMP/cms.secret"

# --- The shipped configuration ---

# A copy, since -t names the file it checked; the secret is the systemd credential cms.secret
# (the shipped file leaves app_secret_file out), or app_secret_file set to the test secret.
shipped=$AW_SRC/etc/agentwatchd.conf
conf=$AW_TMP/agentwatchd.conf
cp "$shipped" "$conf"
mkdir -m 700 "$AW_TMP/creds"
cp -p "$AW_TMP/cms.secret" "$AW_TMP/creds/cms.secret"
# The numbers follow etc/agentwatchd.conf: id 1099, ids 1100 and 1101, range 2000..2999.
summary="OK: 1003 agents in 3 groups; CMS https://cms.example.net:28443; poll every 5 s; outputs: journal"
run shipped env CREDENTIALS_DIRECTORY="$AW_TMP/creds" "$AW_BIN" -t -c "$conf"
expect_eq "shipped config, systemd credential: -t exits 0" "$rc" 0
expect_file "shipped config, systemd credential: -t prints the one-line summary" "$AW_TMP/shipped.out" \
"$conf: $summary
"
expect_eq "shipped config, systemd credential: nothing on stderr" "$(cat "$AW_TMP/shipped.err")" ""

conf=$AW_TMP/with-file.conf
sed -E "s|^( *)(# *)?app_secret_file = \"[^\"]*\";|\1app_secret_file = \"$AW_TMP/cms.secret\";|" "$shipped" > "$conf"
check "shipped config: app_secret_file set to the test secret in the copy" \
    grep -qE "^ *app_secret_file = \"$AW_TMP/cms.secret\";" "$conf"
run file env -u CREDENTIALS_DIRECTORY "$AW_BIN" --check-config --config "$conf"
expect_eq "shipped config, app_secret_file: --check-config exits 0" "$rc" 0
expect_file "shipped config, app_secret_file: the same summary" "$AW_TMP/file.out" "$conf: $summary
"
expect_eq "shipped config, app_secret_file: nothing on stderr" "$(cat "$AW_TMP/file.err")" ""

conf=$AW_TMP/agentwatchd.conf
cms_line=$(grep -n '^cms = {' "$conf" | cut -d: -f1)
nocred_err="$conf:$cms_line: cms.app_secret_file is not set and there is no systemd credential cms.secret
$conf: 1 error
"
# From a shell (no $CREDENTIALS_DIRECTORY) -t checks everything else and says where the secret
# will come from; the service's ExecStartPre=agentwatchd -t is given the credential and checks it.
run shell env -u CREDENTIALS_DIRECTORY "$AW_BIN" -t -c "$conf"
expect_eq "shipped config from a shell: -t exits 0" "$rc" 0
expect_file "shipped config from a shell: the summary, then where the secret will come from" \
    "$AW_TMP/shell.out" \
"$conf: $summary
$conf: the CMS secret will come from the systemd credential cms.secret; it is checked when the service starts
"
expect_eq "shipped config from a shell: nothing on stderr" "$(cat "$AW_TMP/shell.err")" ""

# Under the service without the credential (an empty credentials directory): an error, as before.
mkdir -m 700 "$AW_TMP/nocreds"
run nocred env CREDENTIALS_DIRECTORY="$AW_TMP/nocreds" "$AW_BIN" -t -c "$conf"
expect_eq "shipped config, service without the credential: -t exits 1" "$rc" 1
expect_file "shipped config, service without the credential: says where the secret should come from" \
    "$AW_TMP/nocred.err" "$nocred_err"
expect_eq "shipped config, service without the credential: no summary" "$(cat "$AW_TMP/nocred.out")" ""

# Whatever uses the secret still refuses to run without it, from a shell or not.
run daemon env -u CREDENTIALS_DIRECTORY "$AW_BIN" -c "$conf"
expect_eq "shipped config, no secret: the daemon refuses to start (exit 1)" "$rc" 1
expect_file "shipped config, no secret: the daemon says why" "$AW_TMP/daemon.err" "$nocred_err"
run once env -u CREDENTIALS_DIRECTORY "$AW_BIN" --once -c "$conf"
expect_eq "shipped config, no secret: --once refuses (exit 1)" "$rc" 1
expect_file "shipped config, no secret: --once says why" "$AW_TMP/once.err" "$nocred_err"

# An app_secret_file that is missing is an error for -t from a shell too: only the credential waits.
conf=$AW_TMP/missing-file.conf
sed -E "s|^( *)(# *)?app_secret_file = \"[^\"]*\";|\1app_secret_file = \"$AW_TMP/nope.secret\";|" "$shipped" > "$conf"
run nofile env -u CREDENTIALS_DIRECTORY "$AW_BIN" -t -c "$conf"
expect_eq "app_secret_file missing, from a shell: -t exits 1" "$rc" 1
expect_grep "app_secret_file missing, from a shell: names the file" \
    "cms.app_secret_file $AW_TMP/nope.secret cannot be read: No such file or directory" "$AW_TMP/nofile.err"

# --- Many mistakes at once: every one reported, in file order, then the count ---

printf '%s\n' "$AW_SECRET" > "$AW_TMP/open.secret"
chmod 644 "$AW_TMP/open.secret"
conf=$AW_TMP/bad.conf
cat > "$conf" <<'EOF'
# Every line below marked "<-" is wrong.
cms = {
  url = "http://127.0.0.1:8080";        # <- plain http without allow_insecure_http
  app_key = "TESTAK";
  app_secret_file = "open.secret";      # <- mode 0644
  timeot = 5.0;                         # <- typo of timeout
};
pol = { interval = 5.0; };              # <- typo of poll
agents = (
  { cc = 1; vdn = 5001; id = 1099; },   # <- vdn out of range
  { cc = 1; vdn = 170; id = 65000; },   # <- agent id in the 60000..69999 gap
  { cc = 1; vdn = 170; id = 1100; },
  { cc = 1; vdn = 170; ids = [ 1100, 1200 ]; },       # <- 1100 again (the id above)
  { cc = 1; vdn = 170; range = [ 1195, 1210 ]; },     # <- 1200 again (the ids above)
  { cc = 1; vdn = 170; range = [ 1205, 1300 ]; },     # <- 1205..1210 again (the range above)
  { cc = 1; vdn = 170; range = [ 3000, 2000 ]; },     # <- inverted
  { cc = 1; vdn = 170; range = [ 59990, 70010 ]; }    # <- spans the gap
);
EOF
run bad "$AW_BIN" -t -c "$conf"
expect_eq "many mistakes: exit 1" "$rc" 1
expect_file "many mistakes: every FILE:LINE: message and the count, exactly" "$AW_TMP/bad.err" \
"$conf:3: cms.url 'http://127.0.0.1:8080' is plain http: set cms.allow_insecure_http = true to allow it
$conf:5: cms.app_secret_file $dir/open.secret has mode 0644: it must not be readable by group or others (chmod 600)
$conf:6: unknown key 'timeot' in cms
$conf:8: unknown key 'pol' at top level
$conf:10: agents[0].vdn 5001 is out of range 1..5000
$conf:11: agents[1].id 65000 is out of range 101..59999, 70000..999999
$conf:13: agent 1:170:1100 is listed twice (first at line 12)
$conf:14: agent 1:170:1200 is listed twice (first at line 13)
$conf:15: agent 1:170:1205 is listed twice (first at line 14) and 5 more
$conf:16: agents[6].range [3000, 2000] is reversed: its first id must not exceed its last
$conf:17: agents[7].range [59990, 70010] includes ids out of range 101..59999, 70000..999999
$conf: 11 errors
"
expect_eq "many mistakes: no summary on stdout" "$(cat "$AW_TMP/bad.out")" ""

# --- Values a typo away from valid: refused, never taken to mean something else ---
# libconfig 1.5 keeps integers in 32 bits (4294968395 is 1099 to it); a timeout of 0.4 ms would
# be 0 ms, libcurl's "no timeout"; names reach JSON, the journal and syslog lines.

chmod 600 "$AW_TMP/cms.secret"
conf=$AW_TMP/typo.conf
long_ident=$(printf 'i%.0s' $(seq 4070))
long_socket=/run/$(printf 's%.0s' $(seq 115))
long_name=$(printf 'n%.0s' $(seq 9000))
label60=$(printf 'l%.0s' $(seq 60))
{
    printf '%s\n' 'cms = { url = "https://127.0.0.1:28443"; app_key = "TESTAK"; app_secret_file = "cms.secret";'
    printf '%s\n' '  max_in_flight = 4294967328; timeout = 0.0004; };'
    printf '%s\n' 'agents = ( { cc = 1; vdn = 170; id = 4294968395; },'
    printf '%s\n' '  { cc = 1; vdn = 171; range = [2000, 4294969296]; },'
    printf '%s\n' '  { cc = 1; vdn = 172; ids = [0x44B, 0x10000044C]; },'
    printf '  { cc = 1; vdn = 173; id = 1099; name = "bad\377name"; labels = { team = "a\303"; }; },\n'
    printf '%s\n' '  { cc = 1; vdn = 174; id = 1099; labels = { TEAM = "x"; team = "y"; '"$label60"' = "z"; }; },'
    printf '%s\n' '  { cc = 1; vdn = 175; id = 1099; name = "'"$long_name"'"; } );'
    printf '%s\n' 'outputs = { syslog = { enabled = true; ident = "'"$long_ident"'";'
    printf '%s\n' '  socket = "'"$long_socket"'"; };'
    printf '%s\n' '  webhooks = ( { url = "https://127.0.0.1/"; timeout = 0.0009; headers = { X-A = "a\r\nX-B: b"; }; } ); };'
} > "$conf"
run typo "$AW_BIN" -t -c "$conf"
expect_eq "typos: exit 1" "$rc" 1
expect_file "typos: every value refused with FILE:LINE, exactly" "$AW_TMP/typo.err" \
"$conf:2: cms.max_in_flight 4294967328 is out of range 1..4096
$conf:2: cms.timeout 0.0004 is out of range 0.001..300
$conf:3: agents[0].id 4294968395 is out of range 101..59999, 70000..999999
$conf:4: agents[1].range[1] 4294969296 is out of range 101..59999, 70000..999999
$conf:5: agents[2].ids[1] 0x10000044C is out of range 101..59999, 70000..999999
$conf:6: agents[3].name is not valid UTF-8: byte 4 is 0xff
$conf:6: agents[3].labels.team is not valid UTF-8: byte 2 is 0xc3
$conf:7: agents[4].labels.team and labels.TEAM are both the journal field AGENT_LABEL_TEAM: label names must differ in more than case
$conf:7: agents[4].labels.$label60 is 60 bytes long: label names are at most 52 bytes, as the journal field AGENT_LABEL_NAME must fit journald's 64
$conf:8: agents[5].name is 9000 bytes long: at most 256 bytes are allowed
$conf:9: outputs.syslog.ident must be 1 to 64 printable ASCII characters without spaces, ':' or '['
$conf:10: outputs.syslog.socket is 120 bytes long: at most 107 bytes are allowed
$conf:11: outputs.webhooks[0].timeout 0.0009 is out of range 0.001..300
$conf:11: outputs.webhooks[0].headers.X-A must not contain a line break
$conf: 14 errors
"
expect_eq "typos: no summary on stdout" "$(cat "$AW_TMP/typo.out")" ""

# Each alone, as an operator would write it: -t must not say OK.
one_typo() {    # one_typo NAME LINE-3 LINE-4 EXPECTED ("LINE: message")
    conf=$AW_TMP/$1.conf
    {
        printf '%s\n' 'cms = { url = "https://127.0.0.1:28443"; app_key = "TESTAK"; app_secret_file = "cms.secret";'
        printf '%s\n' '  timeout = 2; };'
        printf '%s\n' "$2" "$3"
    } > "$conf"
    run "$1" "$AW_BIN" -t -c "$conf"
    expect_eq "$1: exit 1" "$rc" 1
    expect_file "$1: the one message" "$AW_TMP/$1.err" "$conf:$4
$conf: 1 error
"
}
agent='agents = ( { cc = 1; vdn = 170; id = 1099; } );'
one_typo wrapped_id 'agents = ( { cc = 1; vdn = 170; id = 4294968395; } );' '' \
    "3: agents[0].id 4294968395 is out of range 101..59999, 70000..999999"
one_typo zero_timeout "$agent" 'outputs = { webhooks = ( { url = "https://127.0.0.1/"; timeout = 0.0004; } ); };' \
    "4: outputs.webhooks[0].timeout 0.0004 is out of range 0.001..300"
one_typo bad_utf8 "$(printf 'agents = ( { cc = 1; vdn = 170; id = 1099; name = "bad\377name"; } );')" '' \
    "3: agents[0].name is not valid UTF-8: byte 4 is 0xff"
one_typo long_ident "$agent" 'outputs = { syslog = { enabled = true; ident = "'"$long_ident"'"; }; };' \
    "4: outputs.syslog.ident must be 1 to 64 printable ASCII characters without spaces, ':' or '['"

# A private secret file that is wrong in itself: the message names the file, never the content.
printf '%s\nsecond line\n' "$AW_SECRET" > "$AW_TMP/two.secret"
chmod 600 "$AW_TMP/two.secret"
conf=$AW_TMP/two.conf
cat > "$conf" <<EOF
cms = { url = "https://127.0.0.1:28443"; app_key = "TESTAK"; app_secret_file = "two.secret"; };
agents = ( { cc = 1; vdn = 170; id = 1099; } );
EOF
run two "$AW_BIN" -t -c "$conf"
expect_eq "two-line secret: exit 1" "$rc" 1
expect_file "two-line secret: one message naming the file" "$AW_TMP/two.err" \
"$conf:1: cms.app_secret_file $dir/two.secret has more than one line
$conf: 1 error
"

# --- A missing file ---

run missing "$AW_BIN" -t -c "$AW_TMP/nope.conf"
expect_eq "missing file: exit 1" "$rc" 1
expect_file "missing file: a clear message" "$AW_TMP/missing.err" \
"$AW_TMP/nope.conf: cannot read: No such file or directory
$AW_TMP/nope.conf: 1 error
"
expect_eq "missing file: nothing on stdout" "$(cat "$AW_TMP/missing.out")" ""

# --- A binary file: libconfig's scanner would exit the process on some NUL bytes ---

printf 'cms = {\n@include "\0\0\0"\n' > "$AW_TMP/binary.conf"
run binary "$AW_BIN" -t -c "$AW_TMP/binary.conf"
expect_eq "NUL byte: exit 1" "$rc" 1
expect_file "NUL byte: a clear message with the line" "$AW_TMP/binary.err" \
"$AW_TMP/binary.conf:2: a NUL byte: this is not a text file
$AW_TMP/binary.conf: 1 error
"

# --- Command-line mistakes: exit 2 with the reason and the usage, and no work done ---

conf=$AW_TMP/with-file.conf
run badopt "$AW_BIN" -t --frobnicate -c "$conf"
expect_usage "-t with an unknown long option" badopt "unrecognized option '--frobnicate'"
run badshort "$AW_BIN" -t -x -c "$conf"
expect_usage "-t with an unknown short option" badshort "invalid option -- 'x'"
run noarg "$AW_BIN" -t -c
expect_usage "-c without its FILE" noarg "option requires an argument -- 'c'"
run extra "$AW_BIN" -t -c "$conf" stray
expect_usage "-t with a stray argument" extra "unexpected argument 'stray'"
run agent "$AW_BIN" -c "$conf" --agent 1:170:1099
expect_usage "--agent without --once" agent "--agent goes with --once"
run agent_t "$AW_BIN" -t -c "$conf" --agent 1:170:1099
expect_usage "-t --agent without --once" agent_t "--agent goes with --once"
run t_once "$AW_BIN" -t --once -c "$conf"
expect_usage "-t with --once" t_once "-t and --once exclude each other"

# --- --version and -h ---

# The version comes from configure.ac (AC_INIT) through config.h; the libraries follow it.
version=$(sed -n 's/^AC_INIT(\[agentwatchd\], \[\([^]]*\)\].*/\1/p' "$AW_SRC/configure.ac")
run version "$AW_BIN" --version
expect_eq "--version: exit 0" "$rc" 0
expect_eq "--version: name and the version of configure.ac" "$(head -1 "$AW_TMP/version.out")" \
    "agentwatchd $version"
curl_version=$(curl-config --version 2>/dev/null | sed 's/^libcurl //')
for lib in "libcurl ${curl_version:-[0-9.]+} \(OpenSSL/[0-9]" "OpenSSL [0-9]+\.[0-9]+" \
    "json-c [0-9]+\.[0-9]+" "yajl $(pkg-config --modversion yajl)" "libmicrohttpd $(pkg-config --modversion libmicrohttpd)" \
    "libconfig $(pkg-config --modversion libconfig) \(built with\)" \
    "libsystemd $(pkg-config --modversion libsystemd) \(built with\)"; do
    expect_grep "--version: names ${lib%% *} and its version" "^$lib" "$AW_TMP/version.out"
done
expect_eq "--version: nothing on stderr" "$(cat "$AW_TMP/version.err")" ""

for opt in -h --help; do
    run help "$AW_BIN" "$opt"
    expect_eq "$opt: exit 0" "$rc" 0
    expect_grep "$opt: usage on stdout" \
        '^usage: agentwatchd \[-c FILE\] \[-t\] \[--once \[--agent CC:VDN:ID\]\] \[-v\]\.\.\. \[--version\] \[-h\]$' \
        "$AW_TMP/help.out"
    missing=
    for o in '-c, --config FILE' '-t, --check-config' '--once' '--agent CC:VDN:ID' \
             '-v, --verbose' '--version' '-h, --help'; do
        grep -qF -- "$o" "$AW_TMP/help.out" || missing+=" $o"
    done
    expect_eq "$opt: describes every option" "$missing" ""
    expect_eq "$opt: nothing on stderr" "$(cat "$AW_TMP/help.err")" ""
done

# --- The secret, whatever happened ---

expect_no_secret "no run printed the secret" "$AW_TMP"/*.out "$AW_TMP"/*.err

aw_done
