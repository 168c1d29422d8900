#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Phase tracing of a start (issue 14, src/shared/trace.h): with VIVARIUM_TRACE
# set for vivctl and vivariumd, one `vivctl create --wait` in a test host
# (the default user namespace, root on a tmpfs) writes one line per phase
# from vivctl, the manager, the helper and init's child, in the order a
# start has them; bench/phases.py reads the file as one whole run; without
# the variable nothing is written.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require helper vivariumd busybox

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }

testhost_boot "vt-trace-$$" || testhost_skip_or_fail "the test host did not boot"
testhost_install "$build" >/dev/null || { echo "not ok - install into the test host"; exit 1; }

trace=/run/vt-trace.log
in_host "$here/lib/busybox-root.sh" /srv/tr true
in_host sh -c '
cat >/tmp/tr.xml <<X
<domain type="lxc"><name>tr</name><memory>65536</memory>
<os><type>exe</type><init>/bin/true</init></os>
<devices><filesystem type="mount"><source dir="/srv/tr"/><target dir="/"/></filesystem><console type="pty"/></devices>
</domain>
X'
testhost_manager_env VIVARIUM_TRACE=$trace
in_host systemctl restart vivariumd

check "a traced start runs" in_host env VIVARIUM_TRACE=$trace vivctl create --wait /tmp/tr.xml
lines=$(in_host cat $trace 2>/dev/null)
# every line: seconds.micros program pid phase
check "every line reads 'SECONDS.MICROS PROGRAM PID PHASE'" \
	not grep -Evq '^[0-9]+\.[0-9]{6} [A-Za-z0-9_.-]+ [0-9]+ [a-z-]+$' <<<"$lines"
[ -n "$lines" ] && ok "the trace has lines" || not_ok "the trace has lines"

# time of PHASE (first line); "" when missing
at() { awk -v p="$1" '$4 == p { print $1; exit }' <<<"$lines"; }
# pid of PHASE
pid_of() { awk -v p="$1" '$4 == p { print $3; exit }' <<<"$lines"; }
phases="vivctl-start vivctl-bus-open vivctl-createxml-call mgr-createxml mgr-privileged mgr-parsed mgr-prepared
mgr-helper-forked mgr-scope-requested mgr-scope-reply mgr-job-removed mgr-go-sent helper-main helper-loaded helper-go
helper-cgroups helper-host-mounts helper-userns helper-clone child-go child-mounted child-exec helper-init-execd
helper-listening mgr-registered helper-ready mgr-ready mgr-start-replied vivctl-createxml-reply
helper-init-exited helper-payload-killed helper-exited-emitted helper-loop-done helper-cgroups-removed
helper-end mgr-unregistered mgr-helper-gone mgr-emit-exited vivctl-got-exited vivctl-end"
missing=""
for p in $phases; do
	[ "$(grep -c " $p\$" <<<"$lines")" = 1 ] || missing+=" $p"
done
[ -z "$missing" ] && ok "each phase is traced once" || not_ok "each phase is traced once (missing or repeated:$missing)"

# before A B: phase A came before phase B (one clock for all processes)
before() {
	local a b
	a=$(at "$1") b=$(at "$2")
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { exit !(a <= b) }'
}
# pairs whose order is certain: the first is written before the message (or
# the exec, the exit) that causes the second, or both are of one process
for pair in vivctl-start:mgr-createxml mgr-createxml:mgr-helper-forked mgr-prepared:helper-main \
	mgr-scope-requested:mgr-job-removed mgr-job-removed:helper-go helper-clone:child-go child-exec:helper-init-execd \
	helper-ready:mgr-ready mgr-ready:vivctl-createxml-reply helper-init-exited:helper-end \
	helper-end:mgr-helper-gone mgr-registered:mgr-start-replied \
	mgr-unregistered:mgr-emit-exited mgr-emit-exited:vivctl-got-exited vivctl-got-exited:vivctl-end; do
	check "${pair%%:*} before ${pair#*:}" before "${pair%%:*}" "${pair#*:}"
done
# four processes: vivctl, the manager, the helper, init's child
procs=$(for p in vivctl-start mgr-createxml helper-main child-go; do pid_of $p; done | sort -u | wc -l)
[ "$procs" = 4 ] && ok "vivctl, manager, helper and child trace as four processes" ||
	not_ok "vivctl, manager, helper and child trace as four processes (got $procs)"

table=$(in_host python3 "$here/../bench/phases.py" $trace 2>&1)
check "bench/phases.py reads it as one run" contains "$table" "1 runs"
check "bench/phases.py lists the helper's READY" contains "$table" "helper-ready"

# off: vivctl without the variable writes nothing, nor does a manager without it
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0
in_host systemctl restart vivariumd
in_host rm -f $trace
check "an untraced start runs" in_host vivctl create --wait /tmp/tr.xml
check "nothing is traced without VIVARIUM_TRACE" not in_host test -e $trace

testhost_teardown
echo "1..$n"
[ "$failures" = 0 ]
