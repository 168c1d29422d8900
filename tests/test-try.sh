#!/bin/bash
# tools/try, the README's first command, run as a test: the seed's whole
# walk-through in a throwaway test host, with the build under test. Fails when
# tools/try fails (a step did not do what the seed shows), and when its
# transcript does not read like the seed: a control sequence or carriage return
# in it, a console command's output on the line of the next prompt, a section
# of the seed missing.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
        [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ] && { echo "test-try: needs root and unshare"; exit 1; }
        exit 77
fi
# shellcheck source=tests/lib/check.sh
. "$top/tests/lib/check.sh"

transcript=$(mktemp /tmp/test-try.XXXXXX)
trap 'rm -f "$transcript"' EXIT
"$top/tools/try" 2>&1 | tee "$transcript"
rc=${PIPESTATUS[0]}
echo

lacks() { ! grep -qF -- "$1" "$transcript"; }

# RX... match lines that follow one another in the transcript, each a whole line.
lines_in_order() {
        python3 - "$transcript" "$@" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")
want = [re.compile(rx) for rx in sys.argv[2:]]
sys.exit(0 if any(all(rx.fullmatch(line) for rx, line in zip(want, text[i:]))
                  for i in range(len(text) - len(want) + 1)) else 1)
PY
}

check "tools/try exits 0" [ "$rc" = 0 ]
check "every step did what the seed shows" grep -qx "walk-through: every step did what the seed shows" "$transcript"
check "no ESC byte in the transcript" lacks $'\x1b'
check "no carriage return in the transcript" lacks $'\r'
check "no remnant of busybox's cursor query (ESC[6n) in the transcript" lacks "[6n"
for section in 'A simple "Hello World" container' 'Adding custom mounts to the "Hello World" container' \
        "A private root filesystem with busybox" "Custom networking in the container" \
        "The complete final example XML configuration" "An aside about CGroups"; do
        check "section: $section" grep -qxF "== $section" "$transcript"
done
check "console: each command on its prompt's line, its output on the next" \
        lines_in_order "# ls /etc/httpd/" "hello\.txt" "# ls /var/www/" "world\.txt" "# exit"
check "console: ifconfig, then eth0 with the seed's MAC on a line of its own" \
        lines_in_order "/ # ifconfig" "eth0 +Link encap:Ethernet +HWaddr 52:54:00:4D:2B:CD"
check "console: route -n shows nothing routed before the address is set" \
        lines_in_order "/ # route -n" "Kernel IP routing table" "Destination +Gateway +Genmask +Flags +Metric +Ref +Use +Iface" \
        "/ # ifconfig eth0 [0-9.]+" "/ # route add 0\.0\.0\.0 gw [0-9.]+ eth0" "/ # route"
check "console: ping, 0% packet loss" \
        lines_in_order "2 packets transmitted, 2 packets received, 0% packet loss" "round-trip .*" "/ #"
check "the final XML: the seed's <interface>, without a MAC" \
        lines_in_order "</filesystem>" "<interface type='network'>" "<source network='default'/>" "</interface>"
echo "1..$n"
[ $failures = 0 ]
