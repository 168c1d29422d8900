# SPDX-License-Identifier: LGPL-2.1-or-later
# A container that only sleeps, on the busybox root /tmp/dr of the test host
# (tests/lib/busybox-root.sh, with sleep), for the tests that attach devices
# to a running one (test-fsattach.sh, test-fsattach-image.sh,
# test-parity-live.sh). Source it after check.sh, with $work bound into the
# test host and vivctl a function that runs vivctl there.
#   sleep_domain NAME MODE [DEVICE...]
#                        $work/NAME.xml: container NAME, 64 MiB, in user
#                        namespace MODE (<vivarium:userns mode='MODE'/>:
#                        pick, off), init /bin/sleep 100000, a pty console;
#                        each DEVICE a line of its <devices>
#   sleep_domain_up NAME DESCRIPTION
#                        defines $work/NAME.xml and starts it, checked as
#                        "DESCRIPTION (what start printed)"
# shellcheck shell=bash disable=SC2154 # $work is the test's

sleep_domain() { # NAME MODE [DEVICE...]
	local name=$1 mode=$2
	shift 2
	cat >"$work/$name.xml" <<XML
<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <vivarium:userns mode='$mode'/>
  <os><type>exe</type><init>/bin/sleep</init><initarg>100000</initarg></os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='/tmp/dr'/><target dir='/'/></filesystem>
$([ $# -eq 0 ] || printf '    %s\n' "$@")
  </devices>
</domain>
XML
}

sleep_domain_up() { # NAME DESCRIPTION
	local out
	vivctl define "$work/$1.xml" >/dev/null 2>&1
	out=$(vivctl start "$1" 2>&1)
	check "$2 ($out)" contains "$out" "Domain $1 started"
}
