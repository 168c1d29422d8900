# SPDX-License-Identifier: LGPL-2.1-or-later
# dhcpcd as the DHCPv6 client of the network tests: in a container's network
# namespace or a peer's, in the background, stopped by its PID (its pid file
# in the test host). Source it after net-peer.sh and check.sh; uses $work.
#   dhcpcd_conf                      $work/dhcpcd.conf: DHCPv6 only, IA_NA
#   dhcpcd_start TAG DUID IFACE CMD-PREFIX...
#   dhcpcd_stop TAG
#   dhcpcd_cleanup                   (in the test's EXIT trap) kills what
#                                    is left, and shows the clients' logs
#                                    when a check failed
# shellcheck shell=bash disable=SC2154 # $work, $failures are the test's

dhcpcd_jobs=()

# DHCPv6 only, asking for an address (IA_NA), with the DUID the test writes
# in the test host's /var/lib/dhcpcd/duid before each run.
dhcpcd_conf() {
	printf 'ipv6only\nia_na\n' >"$work/dhcpcd.conf"
}

# dhcpcd_start TAG DUID IFACE CMD-PREFIX...: dhcpcd in the background (-B),
# run by CMD-PREFIX (in_ct NAME or an `ip netns exec`); its PID, read from
# its pid file in the test host, goes to $work/TAG.pid
dhcpcd_start() {
	local tag=$1 duid=$2 iface=$3
	shift 3
	in_host sh -c "mkdir -p /var/lib/dhcpcd && echo '$duid' >/var/lib/dhcpcd/duid && rm -f /run/dhcpcd/$iface-6.pid"
	"$@" dhcpcd -6 -B -d -f "$work/dhcpcd.conf" "$iface" >>"$work/$tag.dhcpcd" 2>&1 &
	dhcpcd_jobs+=("$!")
	if wait_until 60 in_host test -s "/run/dhcpcd/$iface-6.pid"; then
		in_host cat "/run/dhcpcd/$iface-6.pid" >"$work/$tag.pid"
	else
		echo "# dhcpcd $tag wrote no pid file; its log:" >&2
		sed 's/^/#  /' "$work/$tag.dhcpcd" >&2
	fi
}

# dhcpcd_stop TAG: by its PID, waiting until it is gone. SIGTERM again each
# second (once, in a run beside a CI run, the first one was not acted on: no
# "received SIGTERM" in dhcpcd's log, alive 60 s later), SIGKILL after 30 s.
dhcpcd_term() { in_host kill "$1" 2>/dev/null; sleep 1; ! in_host kill -0 "$1" 2>/dev/null; }
dhcpcd_stop() {
	local pid
	pid=$(cat "$work/$1.pid" 2>/dev/null)
	[ -n "$pid" ] || return 1
	wait_until 30 dhcpcd_term "$pid" && return 0
	echo "# dhcpcd $1 ($pid) did not stop on SIGTERM in 30 s: SIGKILL" >&2
	in_host kill -KILL "$pid" 2>/dev/null
	wait_until 30 not in_host kill -0 "$pid"
}

dhcpcd_cleanup() {
	local j f
	for j in "${dhcpcd_jobs[@]}"; do
		kill "$j" 2>/dev/null
	done
	# what the clients saw, when a check failed
	if [ "$failures" -ne 0 ]; then
		for f in "$work"/*.dhcpcd; do
			[ -e "$f" ] || continue
			echo "# $(basename "$f"):" >&2
			tail -40 "$f" | sed 's/^/#  /' >&2
		done
	fi
}
