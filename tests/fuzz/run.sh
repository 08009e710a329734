#!/bin/bash
# run.sh: builds the libFuzzer targets (fuzz_reply, fuzz_replybatch, fuzz_cfg) with clang
# (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60). Not part of `make check`: fuzzing is
# open-ended. Leaks are not checked because libconfig 1.5 itself leaks on some syntax errors.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AW_BUILD:-$top/build/plain}
out=$(mktemp -d "${TMPDIR:-/tmp}/aw-fuzz.XXXXXX")
trap 'rm -rf "$out"' EXIT
cc="clang -g -O1 -fsanitize=fuzzer,address,undefined -I$build -D_GNU_SOURCE -include unistd.h"
deps="$(pkg-config --cflags --libs json-c yajl libconfig libcrypto libsystemd libcrypt)"
$cc "$top/tests/fuzz/fuzz_reply.c" "$top/src/reply.c" "$top/src/utf8.c" $deps -o "$out/fuzz_reply"
$cc "$top/tests/fuzz/fuzz_replybatch.c" "$top/src/replybatch.c" "$top/src/replyentry.c" \
	"$top/src/replyfield.c" "$top/src/jsonsax.c" "$top/src/reply.c" "$top/src/utf8.c" \
	"$top/src/util.c" $deps -o "$out/fuzz_replybatch"
$cc "$top/tests/fuzz/fuzz_cfg.c" "$top"/src/cfg.c "$top"/src/cfg_*.c "$top/src/cfgnum.c" \
	"$top/src/cfgcheck.c" "$top/src/event.c" "$top/src/utf8.c" "$top/src/util.c" "$top/src/log.c" \
	"$top/src/cmscodes.c" \
	$deps -lm -o "$out/fuzz_cfg"
mkdir -p "$out/reply" "$out/replybatch" "$out/cfg"
printf '{"result":"0","resultCode":"0100000","resultDesc":["1605492949-1447"]}' > "$out/reply/a"
# Huawei's samples (cms-api.md §2), a duplicate agentId and one not asked.
printf '{"result":"0","resultCode":"0100000","resultDesc":[{"agentId":1034,"callList":[]},{"agentId":1099,"callList":[{"callId":"1605494261-1449","callStatus":5,"callInOut":0,"mediaType":5,"submediaType":"WhatsApp"}]},{"agentId":1099,"callList":[]},{"agentId":7,"callList":[]}]}' \
	> "$out/replybatch/a"
printf '{"resultCode":"0100000","resultDesc":[{"prevState":1,"agentId":1099,"logonTime":4294967295000,"agentRelease":0,"locationId":65535,"currentPrivateCallNum":0,"currentStateTime":230703,"currentStateReason":258,"prevStateTime":4294967295,"currentState":0}]}' \
	> "$out/replybatch/b"
cp "$top/etc/agentwatchd.conf" "$out/cfg/a"
# Numbers as libconfig 1.5 scans them (decimal, hex, L suffixes, past 32 bits, floats) among
# strings, comments and names: the target aborts when cfgnum's scanner and libconfig disagree.
cat > "$out/cfg/b" <<'EOF'
# 1 /* 2 */ "3"
cms = { url = "https://h:1"; app_key = "k-1"; app_secret_file = "s"; timeout = 1.5e0; max_in_flight = 0x20;
  max_rate = 4294967296; }; // 0x10
agents = ( { cc = 1; vdn = 2; ids = [ 4294968395, 0x10000044C, -1, +7 ]; range = [ 1L, 0xFFL ]; name = "a\"4\\"; } );
poll = { interval = .5; backoff_max = 1.e2; failure_threshold = 99999999999999999999; };
EOF
# The batch and agent state keys.
cat > "$out/cfg/c" <<'EOF'
cms = { url = "https://h:1"; app_key = "k"; app_secret_file = "s"; api = "agent"; batch_size = 3000; };
agents = ( { cc = 1; vdn = 2; id = 1099; } );
poll = { agent_state = true; };
alerts = { long_state = { rest = 900.0; wrap_up = 300; busy = 0; lunch = 1; }; };
EOF
for t in reply replybatch cfg; do
	echo "== fuzz_$t for ${FUZZ_SECONDS:-60} s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=0 ./fuzz_$t -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 \
		"$out/$t" 2>&1 | grep -E '^Done|ERROR|SUMMARY')
done
