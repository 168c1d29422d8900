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

# Conditions for check (they explain a failure on stderr as "#  " lines):
#   not CMD...                 CMD fails
#   contains HAYSTACK NEEDLE   NEEDLE is in HAYSTACK
#   lacks HAYSTACK NEEDLE      NEEDLE is not in HAYSTACK
#   same A B                   A and B are equal (a diff otherwise)
#   quiet CMD...               CMD with its output dropped
#   wait_for TRIES CMD...      CMD until it succeeds, every 0.1 s, TRIES times
not() { ! "$@"; }
contains() { # HAYSTACK NEEDLE
	case $1 in *"$2"*) return 0 ;; esac
	echo "#  expected to find: $2" >&2
	printf '%s\n' "$1" | head -40 | sed 's/^/#  in: /' >&2
	return 1
}
lacks() { # HAYSTACK NEEDLE
	case $1 in *"$2"*)
		echo "#  did not expect: $2" >&2
		printf '%s\n' "$1" | head -40 | sed 's/^/#  in: /' >&2
		return 1 ;;
	esac
	return 0
}
same() { # A B
	[ "$1" = "$2" ] && return 0
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed 's/^/#  /' >&2
	return 1
}
xml_escape() { # TEXT: as XML character data (&, <, >)
	printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
}
quiet() { "$@" >/dev/null 2>&1; }
wait_for() { # TRIES CMD...
	local tries=$1
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}
