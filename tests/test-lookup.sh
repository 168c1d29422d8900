#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# LookupContainer (issue 14, "the O(N²) of vivctl"): the manager finds one
# container as virsh finds a domain (a name, else a running container's Id,
# else a UUID with or without dashes, any case) and answers its
# ListContainers entry; a name wins over an Id; a stopped container's Id 0
# and an unknown spec are NoSuchContainer. vivctl's verbs that take a
# domain (dominfo, domstate, domid, domuuid, domname, destroy by Id) use it
# and never fetch the whole list: checked on the bus with dbus-monitor.
# No time is asserted. Exit: 0 pass, 1 fail, 77 skipped (1 instead when
# VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl
testhost_require_tools dbus-monitor

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
# shellcheck source=tests/lib/bus-monitor.sh
. "$here/lib/bus-monitor.sh"

work=$(mktemp -d /tmp/vt-lookup.XXXXXX)
trap 'rm -rf "$work"' EXIT
testhost_up "vt-$$-lookup" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl "$@"; }
lookup() { # SPEC: the reply of LookupContainer as busctl prints it
	in_host busctl call org.vivarium1 /org/vivarium1 org.vivarium1.Manager LookupContainer s "$1" 2>&1
}
field() { # N SPEC: the Nth value of the reply (1 = name)
	in_host busctl --json=short call org.vivarium1 /org/vivarium1 org.vivarium1.Manager LookupContainer s "$2" |
		python3 -c "import json, sys; print(json.load(sys.stdin)['data'][$1 - 1])"
}

for c in lk-a lk-b; do
	in_host sh -c "cat > /tmp/$c.xml" <<XML
<domain type='lxc'>
  <name>$c</name>
  <memory>65536</memory>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices><console type='pty'/></devices>
</domain>
XML
	check "define $c" quiet vivctl define /tmp/$c.xml
done
check "start lk-a" quiet vivctl start lk-a

entry=$(in_host busctl --json=short call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListContainers |
	python3 -c 'import json, sys
for c in json.load(sys.stdin)["data"][0]:
    if c[0] == "lk-a": print(" ".join(str(x) for x in c[:4]) + " " + c[5])')
read -r _ uuid_a id_a _ path_a <<<"$entry"
uuid_b=$(vivctl domuuid lk-b)
check "lk-a runs with an Id ($id_a)" test "${id_a:-0}" -gt 0

check "by name: the same entry as ListContainers" \
	same "$(lookup lk-a)" "ssusso \"lk-a\" \"$uuid_a\" $id_a \"running\" \"\" \"$path_a\""
check "by Id: lk-a" same "$(field 1 "$id_a")" lk-a
check "by UUID: lk-a" same "$(field 1 "$uuid_a")" lk-a
check "by UUID in capitals: lk-a" same "$(field 1 "${uuid_a^^}")" lk-a
check "by UUID without dashes: lk-a" same "$(field 1 "${uuid_a//-/}")" lk-a
check "a stopped container: Id 0, state 'shut off'" same "$(field 3 lk-b) $(field 4 lk-b)" "0 shut off"
check "by the UUID of a stopped one: lk-b" same "$(field 1 "$uuid_b")" lk-b
out=$(lookup 0)
check "'0' finds no stopped container" contains "$out" "No container '0'"
out=$(lookup nosuch)
check "an unknown name: NoSuchContainer" contains "$out" "No container 'nosuch'"
out=$(lookup "")
check "an empty spec: NoSuchContainer" contains "$out" "No container ''"

# virsh: a name wins over an Id (a container may be named like a number)
in_host sh -c "sed 's/>lk-b</>$id_a</' /tmp/lk-b.xml | grep -v uuid > /tmp/lk-num.xml"
check "define a container named '$id_a' (lk-a's Id)" quiet vivctl define /tmp/lk-num.xml
check "'$id_a' finds the container of that name, not lk-a" same "$(field 1 "$id_a")" "$id_a"
check "vivctl domstate '$id_a': the named one" same "$(vivctl domstate "$id_a")" "shut off"
check "undefine it" quiet vivctl undefine "$id_a"
check "'$id_a' is lk-a's Id again" same "$(field 1 "$id_a")" lk-a

# vivctl's verbs resolve through LookupContainer, never the whole list:
# everything the manager receives meanwhile is logged by dbus-monitor,
# between two marker calls that are waited for (no timing)
monitor_start /run/lk-mon.log "type=method_call,destination=org.vivarium1"
mark_seen() { monitor_mark /run/lk-mon.log "$1" org.vivarium1 /org/vivarium1 org.vivarium1.Manager GetContainer; }
check "dbus-monitor sees the manager's calls" wait_until 60 mark_seen lk-mark-0
check "vivctl dominfo lk-a" contains "$(vivctl dominfo lk-a)" "$uuid_a"
check "vivctl domstate by Id" same "$(vivctl domstate "$id_a")" running
check "vivctl domid by UUID" same "$(vivctl domid "$uuid_a")" "$id_a"
check "vivctl domname by UUID" same "$(vivctl domname "$uuid_b")" lk-b
check "vivctl domuuid lk-b" same "$(vivctl domuuid lk-b)" "$uuid_b"
out=$(vivctl domstate nosuch 2>&1)
check "vivctl domstate of an unknown domain: virsh's message" contains "$out" "failed to get domain 'nosuch'"
check "vivctl destroy by Id" quiet vivctl destroy "$id_a"
check "the marker after them is seen" wait_until 60 mark_seen lk-mark-1
monitor_stop /run/lk-mon.log
log=$(in_host cat /run/lk-mon.log)
calls=$(grep -o 'member=[A-Za-z]*' <<<"$log" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
check "vivctl called LookupContainer ($calls)" contains "$log" "member=LookupContainer"
check "... and never ListContainers" lacks "$log" "member=ListContainers"
check "lk-a is stopped" same "$(field 4 lk-a)" "shut off"

for c in lk-a lk-b; do
	quiet vivctl undefine $c
done
testhost_teardown
echo "1..$n"
[ "$failures" = 0 ]
