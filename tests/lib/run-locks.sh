# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# A helper run on this machine itself (--foreground, in a mount namespace of
# the test's own, which shares the machine's /run) locks the user-namespace
# ID range it picks in /run/vivarium/userns/BASE.lock, a file that outlives
# it (as on any host, where /run goes at reboot). The tests that do so take
# away what they made there. Source it; call run_locks_mark before the first
# helper and run_locks_clean from the test's exit trap, after the helpers
# have ended.
#   run_locks_mark       notes what /run/vivarium and its userns/ hold now
#   run_locks_clean      removes the lock files made since, and the two
#                        directories when the mark found them absent
#   run_locks_left       lists the lock files made since (empty: none)

run_locks_dir=/run/vivarium/userns

run_locks_mark() {
	run_locks_had_run=0 run_locks_had_dir=0 run_locks_before=
	[ -d /run/vivarium ] && run_locks_had_run=1
	[ -d "$run_locks_dir" ] && run_locks_had_dir=1
	run_locks_before=$(ls "$run_locks_dir" 2>/dev/null)
}

run_locks_left() {
	local f
	for f in "$run_locks_dir"/*.lock; do
		[ -e "$f" ] || continue
		grep -qxF -- "${f##*/}" <<<"$run_locks_before" || echo "$f"
	done
}

run_locks_clean() {
	local f
	for f in $(run_locks_left); do
		rm -f -- "$f"
	done
	[ "${run_locks_had_dir:-1}" = 1 ] || rmdir "$run_locks_dir" 2>/dev/null
	[ "${run_locks_had_run:-1}" = 1 ] || rmdir /run/vivarium 2>/dev/null
	return 0
}
