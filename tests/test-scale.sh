#!/bin/bash
# Many containers at once, at a scale CI can afford (issue 14, "Scale";
# bench/run scale measures 1,000): boots a test host and starts
# VIVARIUM_SCALE_N (100) containers running sleep, by 4 clients at once, then
#   - every one is listed running (vivctl list, ListContainers), with its own
#     helper, its own scope, its own run files, and the manager keeps no
#     connection to an idle helper;
#   - a manager restart adopts every one with the same Id;
#   - destroyed by 4 clients at once, nothing is left: no listing, no helper,
#     no scope, no run file;
#   - a manager holding more than 1024 fds still starts containers.
# No time is asserted. Exit: 0 pass, 1 fail, 77 skipped (1 instead when
# VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require vivariumd

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"

N=${VIVARIUM_SCALE_N:-100}
CLIENTS=4
work=$(mktemp -d /tmp/vt-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT
name=vt-$$-scale
testhost_up "$name" "$build" "$work/install.log"
testhost_manager_env VIVARIUM_IDLE_TIMEOUT=0

vivctl() { testhost_run vivctl "$@"; }
run_files() { testhost_run sh -c 'ls /run/vivarium/containers/ | grep -v "^\." | grep "^sc-"'; }
helper_count() { # the containers' helper processes in the host (not the manager's fork server)
	testhost_run sh -c 'n=0; for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/libexec/vivarium/vivarium-helper ] &&
			[ "$(tr "\0" " " <"$p/cmdline" 2>/dev/null | cut -d" " -f2)" != --fork-server ] && n=$((n + 1)); done; echo $n'
}
scope_count() {
	testhost_run systemctl list-units --all --plain --no-legend 'machine-sc*.scope' | grep -c 'machine-sc'
}
running_count() { vivctl list | grep -Ec '^ *[0-9]+ +sc-[0-9]+ +running'; }
ids() { vivctl list | awk '$2 ~ /^sc-/ { print $2, $1 }' | sort; }
count_is() { # EXPECTED CMD...
	local got
	got=$("${@:2}")
	[ "$got" = "$1" ] && return 0
	echo "#  expected $1, got $got" >&2
	return 1
}

# a container sleeping on the host's root, @NAME@ to be replaced (the
# repository is bound into the test host; bench/list-cost.sh uses it too)
testhost_run cp "$here/lib/sleep-template.xml" /tmp/sc.xml
# CLIENTS shells in the host, each starting (or destroying) its share in turn:
# ops in flight at once, as from several users
each() { # create|destroy
	testhost_run sh -c '
	op=$1 n=$2 clients=$3 fails=0
	for k in $(seq 0 $((clients - 1))); do
		(
		i=$k
		while [ $i -lt $n ]; do
			if [ $op = create ]; then
				sed "s/@NAME@/sc-$i/" /tmp/sc.xml > /tmp/sc-$i.xml
				vivctl create /tmp/sc-$i.xml >/dev/null || echo "FAILED create sc-$i"
			else
				vivctl destroy sc-$i >/dev/null || echo "FAILED destroy sc-$i"
			fi
			i=$((i + clients))
		done
		) &
	done
	wait' sh "$1" "$N" "$CLIENTS"
}

out=$(each create 2>&1)
check "$N containers are created by $CLIENTS clients at once, none fails" lacks "$out" FAILED
check "vivctl list shows $N running" count_is "$N" running_count
listed=$(testhost_run busctl --json=short call org.vivarium1 /org/vivarium1 org.vivarium1.Manager ListContainers |
	python3 -c 'import json, sys; print(sum(1 for c in json.load(sys.stdin)["data"][0] if c[0].startswith("sc-") and c[3] == "running"))')
check "ListContainers has $N running ($listed)" same "$listed" "$N"
before=$(ids)
check "each has its own helper Id" count_is "$N" eval 'awk "{ print \$2 }" <<<"$before" | sort -u | grep -c .'
check "$N helper processes run" count_is "$N" helper_count
check "$N scopes exist" count_is "$N" scope_count
check "each has its live XML and socket" count_is "$((2 * N))" eval 'run_files | grep -Ec "\.(xml|sock)$"'
# One pidfd per running container, and no connection to an idle helper: an
# open one cost the manager's loop on every iteration (before: two fds each).
manager_fds() { testhost_run sh -c 'ls /proc/$(systemctl show -P MainPID vivariumd.service)/fd | wc -l'; }
few_fds() {
	local f
	f=$(manager_fds)
	[ "$f" -lt $((N + N / 2 + 20)) ] && return 0
	echo "#  the manager holds $f fds with $N containers running" >&2
	return 1
}
check "the manager keeps no connection to an idle helper ($(manager_fds) fds)" few_fds

testhost_run systemctl restart vivariumd.service
all_adopted() { [ "$(testhost_run journalctl -q --no-pager -u vivariumd.service -n $((N + 50)) |
	grep -c "Adopted running container 'sc-")" -ge "$N" ]; }
check "a restarted manager adopts all $N" wait_for 3000 all_adopted
check "... each with the same Id" same "$(ids)" "$before"
check "... and closes the connections of the adoption" wait_for 300 few_fds

out=$(each destroy 2>&1)
check "all are destroyed by $CLIENTS clients at once, none fails" lacks "$out" FAILED
check "none is listed" count_is 0 eval 'vivctl list --all | grep -c " sc-"'
check "no helper is left" wait_for 600 count_is 0 helper_count
check "no scope is left" wait_for 600 count_is 0 scope_count
check "no run file is left" count_is 0 eval 'run_files | grep -c .'

# A manager with more than 1024 fds open, as with ~510 containers running (a
# pidfd and a connection each): its helper child lowered its open-file limit
# to 1024 before it had closed the manager's fds, so its /dev/null failed with
# EMFILE and every start after the 507th died at once. Here the fds are opened
# before vivariumd runs (inherited, never used), which needs no 510 containers.
exe=$(testhost_run systemctl show -P ExecStart vivariumd.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
testhost_run tee /run/systemd/system/vivariumd.service.d/fds.conf >/dev/null <<CONF
[Service]
LimitNOFILE=4096
ExecStart=
ExecStart=/bin/bash -c 'for i in \$(seq 10 1200); do eval "exec \$i</dev/null"; done; exec $exe'
CONF
testhost_run systemctl daemon-reload
testhost_run systemctl restart vivariumd.service
fds=$(testhost_run sh -c 'ls /proc/$(systemctl show -P MainPID vivariumd.service)/fd | wc -l')
check "the manager holds more than 1024 fds ($fds, $exe)" test "${fds:-0}" -gt 1024
out=$(testhost_run sh -c 'sed "s/@NAME@/sc-fds/" /tmp/sc.xml > /tmp/sc-fds.xml && vivctl create /tmp/sc-fds.xml' 2>&1)
check "... and still starts a container ($out)" contains "$out" "created"
check "... which runs" eval 'vivctl list | grep -Eq " sc-fds +running"'
quiet vivctl destroy sc-fds
testhost_run rm /run/systemd/system/vivariumd.service.d/fds.conf
testhost_run systemctl daemon-reload

echo "1..$n"
[ "$failures" -eq 0 ]
