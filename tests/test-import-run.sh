#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An imported image runs (issue 16), in a test host through vivariumd: an
# image made by umoci (a FROM-scratch busybox with an unprivileged user, a
# working directory, an environment and a command) is imported with
# "vivctl import" inside the host onto a tmpfs, and the XML it printed is
# created as it is: without a user namespace, and with
# <vivarium:userns mode='pick'/> (the idmapped root maps the image's owners).
# The command's output shows that Entrypoint, Cmd, Env, WorkingDir and User
# took effect, and the file it wrote carries the image's owner on disk.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require import vivariumd busybox
testhost_require_tools umoci

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
vivctl() { testhost_run vivctl -c lxc:/// "$@"; }

work=$(mktemp -d /tmp/vt-import-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

# The image: busybox, a user "app" (1000) owning /home/app, a command that
# reports who and where it runs and writes a file there.
IMAGE_EXTRA='mkdir -p etc home/app tmp &&
	printf "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n" >etc/passwd &&
	printf "root:x:0:\napp:x:1000:\n" >etc/group &&
	chown 1000:1000 home/app' "$here/oci/busybox-image.sh" "$work" 1 sh id cat echo pwd tr &&
(
	cd "$work" &&
	umoci config --image img:1 --config.entrypoint=sh --config.entrypoint=-c \
		--config.cmd='echo "who=$(id -u):$(id -g) cwd=$(pwd) greeting=$GREETING map=$(tr -s " " </proc/self/uid_map)" >report' \
		--config.env=PATH=/bin --config.env='GREETING=hello world' \
		--config.workingdir=/home/app --config.user=app
) >>"$work/image.log" 2>&1 || { sed 's/^/# /' "$work/image.log"; echo "not ok 1 - umoci made the image"; exit 1; }

testhost_up "vt-import-run-$$" "$build" "$work/install.log"

# Roots on a tmpfs (the host's /tmp): an idmapped mount needs a filesystem
# that supports it, which the test host's overlayfs root does not.
out=$(in_host vivctl import "$work/img" /tmp/roots/plain --name plain 2>&1)
check "vivctl import runs in the host" contains "$out" "<source dir='/tmp/roots/plain'/>"
printf '%s\n' "$out" | grep -v '^Imported' >"$work/plain.xml"
# The XML as imported runs in the default user namespace (a picked range);
# the second one opts out.
out=$(in_host vivctl -q import "$work/img" /tmp/roots/off --name off 2>&1)
check "a second root imports" contains "$out" "<name>off</name>"
printf '%s\n' "$out" |
	sed -e "s|<domain type='lxc'>|<domain type='lxc' xmlns:vivarium='http://vivarium.org/schemas/domain/1'>|" \
	    -e "s|  <os>|  <vivarium:userns mode='off'/>\n  <os>|" >"$work/off.xml"

gone() { ! vivctl list --all | grep -qw "$1"; }
for c in plain off; do
	vivctl create "$work/$c.xml" --wait >"$work/$c.out" 2>&1
	status=$?
	check "$c: runs and exits 0" [ "$status" = 0 ] || sed 's/^/#  /' "$work/$c.out"
	report=$(in_host cat /tmp/roots/$c/home/app/report 2>&1)
	check "$c: User, WorkingDir and Env took effect" contains "$report" "who=1000:1000 cwd=/home/app greeting=hello world"
	check "$c: the file it wrote is the image user's on disk" same "$(in_host stat -c %u:%g /tmp/roots/$c/home/app/report 2>&1)" "1000:1000"
	check "$c: is gone after its command exits" wait_for 100 gone $c
	eval "report_$c=\$report"
done
check "the imported container ran in a picked range (the default)" contains "$report_plain" " 65536"
check "... not the identity map" lacks "$report_plain" "4294967295"
check "the opted-out container ran without a user namespace" contains "$report_off" "map= 0 0 4294967295"

echo "1..$n"
[ "$failures" = 0 ]
