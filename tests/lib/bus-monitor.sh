# SPDX-License-Identifier: LGPL-2.1-or-later
# What a service receives on a test host's system bus, logged by dbus-monitor
# between two marker calls that are waited for (no timing). Source it after
# testhost.sh.
#   monitor_start LOG MATCH     dbus-monitor --system MATCH into LOG (in the host)
#   monitor_mark LOG MARK DEST PATH IFACE METHOD
#                               calls METHOD(s MARK) (its answer ignored) and
#                               succeeds once LOG shows it; with wait_until
#   monitor_stop LOG            ends that dbus-monitor (by its PID)
# shellcheck shell=bash

monitor_start() {
	# shellcheck disable=SC2016 # expanded by the host's sh
	testhost_run sh -c 'dbus-monitor --system "$2" >"$1" 2>&1 & echo $! >"$1.pid"' sh "$1" "$2"
}

monitor_mark() {
	testhost_run busctl call "$3" "$4" "$5" "$6" s "$2" >/dev/null 2>&1
	testhost_run grep -q "string \"$2\"" "$1"
}

monitor_stop() {
	# shellcheck disable=SC2016 # expanded by the host's sh
	testhost_run sh -c 'kill "$(cat "$1.pid")"' sh "$1"
}
