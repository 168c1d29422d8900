#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vivctl edit and domstate --reason (issue 19), in a test host:
#   - edit: the stored definition in $VISUAL/$EDITOR (small scripts here),
#     defined again when changed ("... XML configuration edited."), left
#     alone when not ("... not changed."); a refused document asks
#     "Failed. Try again?" on stdin: n (or its end) exits 1 with the
#     definition unchanged, y edits the same file again; a rename through
#     edit is refused as virsh's define refuses it (same uuid); ^C at the
#     editor ends vivctl's edit, not vivctl; the temporary file is gone on
#     every path.
#   - domstate --reason: the manager's StateReason after define, start,
#     suspend, resume, shutdown, destroy, an init killed from outside, a
#     failed start, and a running container adopted by a restarted manager
#     ("unknown").
# No time is asserted. Exit: 0 pass, 1 fail, 77 skipped (1 instead when
# VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd vivctl

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"

work=$(mktemp -d /tmp/vt-edit.XXXXXX)
trap 'rm -rf "$work"' EXIT
testhost_up "vt-$$-edit" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl "$@"; }
put() { in_host sh -c "cat > '$1' && chmod +x '$1'"; }

# init: a shell that ends on SIGTERM (shutdown --mode signal)
put /tmp/er.xml <<'XML'
<domain type='lxc'>
  <name>era</name>
  <memory>65536</memory>
  <os><type>exe</type><init>/bin/sh</init>
    <initarg>-c</initarg><initarg>trap 'exit 0' TERM; sleep 100000 &amp; wait</initarg></os>
  <devices><console type='pty'/></devices>
</domain>
XML
check "define era" quiet vivctl define /tmp/er.xml

# --- edit ----------------------------------------------------------------------
# Each editor script notes the file it was given in /tmp/ed-files.
put /tmp/ed-mem.sh <<'SH'
#!/bin/sh
echo "$1" >> /tmp/ed-files
sed -i "s|<memory[^>]*>[0-9]*</memory>|<memory unit='KiB'>131072</memory>|" "$1"
SH
put /tmp/ed-none.sh <<'SH'
#!/bin/sh
echo "$1" >> /tmp/ed-files
SH
put /tmp/ed-bad.sh <<'SH'
#!/bin/sh
echo "$1" >> /tmp/ed-files
echo '<domain type="lxc"><name>era</name>' > "$1"
SH
# bad at the first call, <memory> changed at the second
put /tmp/ed-twice.sh <<'SH'
#!/bin/sh
echo "$1" >> /tmp/ed-files
if [ -e /tmp/ed-twice.done ]; then
	sed -i "s|<memory[^>]*>[0-9]*</memory>|<memory unit='KiB'>98304</memory>|" "$1"
else
	: > /tmp/ed-twice.done
	sed -i "s|<memory|<memory bogus|" "$1"
fi
SH
put /tmp/ed-rename.sh <<'SH'
#!/bin/sh
echo "$1" >> /tmp/ed-files
sed -i "s|<name>era</name>|<name>erb</name>|" "$1"
SH
# ^C at the editor: SIGINT to its whole process group, vivctl included
put /tmp/ed-int.sh <<'SH'
#!/bin/sh
echo "$1" >> /tmp/ed-files
kill -INT 0
sleep 100
SH
stored() { vivctl dumpxml --inactive era; }
temp_files_left() { # none of the files given to the editors exists
	# shellcheck disable=SC2016 # expanded by the host's shell
	in_host sh -c 'for f in $(cat /tmp/ed-files); do [ -e "$f" ] && echo "$f"; done; true'
}

before=$(stored)
out=$(in_host sh -c 'EDITOR=/tmp/ed-mem.sh vivctl edit era' 2>&1)
rc=$?
check "edit with <memory> changed: exit 0 ($rc)" same "$rc" 0
check "... says 'Domain 'era' XML configuration edited.'" same "$out" "Domain 'era' XML configuration edited."
after=$(stored)
check "... the stored definition has the new <memory>" contains "$after" ">131072</memory>"
check "... and it changed" not same "$before" "$after"
check "... the editor got a .xml file" eval 'in_host tail -n1 /tmp/ed-files | grep -q "\.xml$"'

before=$after
out=$(in_host sh -c 'EDITOR=/tmp/ed-none.sh vivctl edit era' 2>&1)
rc=$?
check "edit with nothing changed: exit 0 ($rc)" same "$rc" 0
check "... says 'Domain 'era' XML configuration not changed.'" same "$out" \
	"Domain 'era' XML configuration not changed."
check "... the definition is the same" same "$(stored)" "$before"

out=$(in_host sh -c 'VISUAL=/tmp/ed-none.sh EDITOR=/tmp/ed-bad.sh vivctl edit era </dev/null' 2>&1)
check "\$VISUAL wins over \$EDITOR" contains "$out" "not changed"

out=$(in_host sh -c 'echo n | EDITOR=/tmp/ed-bad.sh vivctl edit era' 2>&1)
rc=$?
check "edit to bad XML, answer n: exit 1 ($rc)" same "$rc" 1
check "... the manager's error is printed" contains "$out" "error:"
check "... and the question" contains "$out" "Failed. Try again? [y,n,?]:"
check "... the definition is unchanged" same "$(stored)" "$before"
out=$(in_host sh -c 'EDITOR=/tmp/ed-bad.sh vivctl edit era </dev/null' 2>&1)
rc=$?
check "edit to bad XML, stdin at its end: exit 1 ($rc)" same "$rc" 1
check "... the definition is unchanged" same "$(stored)" "$before"

out=$(in_host sh -c 'printf "?\ny\n" | EDITOR=/tmp/ed-twice.sh vivctl edit era' 2>&1)
rc=$?
check "edit refused, '?' then y, fixed: exit 0 ($rc)" same "$rc" 0
check "... '?' printed the help" contains "$out" "y - yes"
check "... then 'edited'" contains "$out" "Domain 'era' XML configuration edited."
check "... the second edit of the same file is stored" contains "$(stored)" ">98304</memory>"
check "... the editor ran twice on the same file" \
	same "$(in_host sh -c 'tail -n2 /tmp/ed-files | uniq | wc -l')" 1

before=$(stored)
out=$(in_host sh -c 'echo n | EDITOR=/tmp/ed-rename.sh vivctl edit era' 2>&1)
rc=$?
check "a rename through edit is refused (same uuid): exit 1 ($rc)" same "$rc" 1
check "... saying era exists with that uuid" contains "$out" "already exists with uuid"
check "... no domain erb" not quiet vivctl domstate erb
check "... era unchanged" same "$(stored)" "$before"

out=$(in_host sh -c 'EDITOR=false vivctl edit era' 2>&1)
rc=$?
check "an editor that fails: exit 1 ($rc)" same "$rc" 1
check "... saying so" contains "$out" "failed with exit status 1"
# a session of its own, so that the SIGINT reaches nothing of the test's
out=$(in_host setsid -w env EDITOR=/tmp/ed-int.sh vivctl edit era 2>&1)
rc=$?
check "^C at the editor: vivctl stays and exits 1 ($rc)" same "$rc" 1
check "... saying the editor was killed" contains "$out" "was killed by signal 2"
check "... era unchanged" same "$(stored)" "$before"
check "no temporary file is left by the edits ($(temp_files_left | tr '\n' ' '))" \
	same "$(temp_files_left)" ""
check "... the editors saw $(in_host wc -l </dev/null /tmp/ed-files 2>/dev/null | cut -d' ' -f1) files" \
	test "$(in_host sh -c 'wc -l < /tmp/ed-files')" -ge 9

# --- domstate --reason -------------------------------------------------------------
reason_is() { # WANT: vivctl domstate --reason era
	local got
	got=$(vivctl domstate --reason era 2>&1)
	[ "$got" = "$1" ] && return 0
	echo "#  got: $got" >&2
	return 1
}
leader() { in_host busctl get-property org.vivarium1 /org/vivarium1/container/era org.vivarium1.Container LeaderPID | cut -d' ' -f2; }

check "defined, never started: shut off (unknown)" reason_is "shut off (unknown)"
check "without --reason: the state alone" same "$(vivctl domstate era)" "shut off"
check "start era" quiet vivctl start era
check "started: running (booted)" reason_is "running (booted)"
check "suspend era" quiet vivctl suspend era
check "suspended: paused (user)" reason_is "paused (user)"
check "resume era" quiet vivctl resume era
check "resumed: running (unpaused)" reason_is "running (unpaused)"
check "StateReason on the bus" same "$(in_host busctl get-property org.vivarium1 /org/vivarium1/container/era \
	org.vivarium1.Container StateReason)" 's "unpaused"'
check "shutdown era" quiet vivctl shutdown era
check "shut down: shut off (shutdown)" wait_until 120 reason_is "shut off (shutdown)"
check "start era again" quiet vivctl start era
check "destroy era" quiet vivctl destroy era
check "destroyed: shut off (destroyed)" wait_until 120 reason_is "shut off (destroyed)"
check "start era a third time" quiet vivctl start era
pid=$(leader)
check "era's init has a PID ($pid)" test "${pid:-0}" -gt 0
# SIGKILL from the host reaches a PID namespace's init: the init crashed
check "kill era's init from outside" quiet in_host kill -KILL "$pid"
check "init killed: shut off (crashed)" wait_until 120 reason_is "shut off (crashed)"

# A restarted manager reports the reason the last one knew (kept under
# /run/vivarium/containers/.reasons), for a stopped and a running container.
in_host systemctl restart vivariumd.service
check "after a manager restart: still shut off (crashed)" wait_until 300 reason_is "shut off (crashed)"
check "start era for the restart" quiet vivctl start era
check "running (booted) before the restart" reason_is "running (booted)"
in_host systemctl restart vivariumd.service
check "after a manager restart: running (booted)" wait_until 300 reason_is "running (booted)"
check "destroy era" quiet vivctl destroy era
check "... shut off (destroyed)" wait_until 120 reason_is "shut off (destroyed)"
in_host systemctl restart vivariumd.service
check "after a manager restart: still shut off (destroyed)" wait_until 300 reason_is "shut off (destroyed)"

# a start that fails (init missing: the helper's error before READY)
in_host sh -c "sed -e 's|<name>era</name>|<name>erbad</name>|' -e 's|<init>/bin/sh</init>|<init>/nonexistent/init</init>|' \
	/tmp/er.xml > /tmp/erbad.xml"
check "define erbad (a missing init)" quiet vivctl define /tmp/erbad.xml
check "start erbad fails" not quiet vivctl start erbad
reason_bad=$(vivctl domstate --reason erbad 2>&1)
check "a failed start: shut off (failed)" same "$reason_bad" "shut off (failed)"
quiet vivctl undefine erbad

out=$(vivctl domstate --reason nosuch 2>&1)
check "domstate --reason of an unknown domain fails as virsh" contains "$out" "failed to get domain 'nosuch'"

quiet vivctl undefine era
check "undefine forgets the kept reason" not in_host test -e /run/vivarium/containers/.reasons/era
check "define era again: shut off (unknown), nothing of the old one" quiet vivctl define /tmp/er.xml
check "... reason unknown" reason_is "shut off (unknown)"
quiet vivctl undefine era
testhost_teardown
echo "1..$n"
[ "$failures" = 0 ]
