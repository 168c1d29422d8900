# SPDX-License-Identifier: LGPL-2.1-or-later
# TAP bookkeeping for the shell tests; source it.
#   check DESCRIPTION CMD...   "ok N - DESCRIPTION" when CMD succeeds, else "not ok N - ..."
#   ok DESCRIPTION, not_ok DESCRIPTION   the same for a result known otherwise
# $n counts the checks and $failures the failed ones; a test ends with
# echo "1..$n" and fails when $failures is not 0.
# shellcheck shell=bash

failures=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $*"; }
check() { # DESCRIPTION CMD...
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS have passed (1). Waits on a condition, never on a guess of how long
# something takes: machines differ fourfold in speed.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		"$@" 2>/dev/null && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# Output predicates for check, which say on stderr what they missed:
#   contains HAYSTACK NEEDLE, lacks HAYSTACK NEEDLE, same A B (a diff)
contains() {
	case $1 in *"$2"*) return 0 ;; esac
	echo "#  expected to find: $2" >&2
	printf '%s\n' "$1" | head -40 | sed 's/^/#  in: /' >&2
	return 1
}
lacks() {
	case $1 in *"$2"*)
		echo "#  did not expect: $2" >&2
		printf '%s\n' "$1" | head -40 | sed 's/^/#  in: /' >&2
		return 1 ;;
	esac
	return 0
}
same() {
	[ "$1" = "$2" ] && return 0
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed 's/^/#  /' >&2
	return 1
}
