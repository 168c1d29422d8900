#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vivarium-oci (issue 16), in a test host through vivariumd: the runtime
# spec's required behaviours as a table (the opencontainers runtime-tools
# validation suite is not packaged in Debian 12): create leaves the
# container "created" with a PID and its program not yet run, start runs it,
# state's JSON fields, start/kill/delete refused in the wrong state, delete
# --force, exec (through vivctl enter), the exit status through the shim,
# stdout relayed without the pty's CRs, process.env/cwd/user, a bind mount, a user namespace from
# uid/gidMappings; every container a Vivarium container (vivctl list,
# machinectl). Unmappable config.json fields are refused naming the field,
# leaving no state and no container; --log gets the error as JSON.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=tests/testhost/testhost.sh
. "$here/testhost/testhost.sh"

testhost_require oci vivariumd busybox
testhost_require_tools jq

# shellcheck source=tests/lib/check.sh
. "$here/lib/check.sh"
in_host() { testhost_run "$@"; }
oci() { testhost_run vivarium-oci --root /run/voci "$@"; }
field() { oci state "$1" 2>/dev/null | jq -r ".$2"; }
status_is() { [ "$(field "$1" status)" = "$2" ]; }
listed() { in_host vivctl -c lxc:/// list --all | grep -qw "$1"; }

work=$(mktemp -d /tmp/vt-oci.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TESTHOST_BIND="${TESTHOST_BIND:+$TESTHOST_BIND }$work"

# config NAME HOSTNAME ARGS_JSON [JQ_FILTER]: a bundle in the host's /tmp/NAME
# whose config.json is runc's default shape, edited by JQ_FILTER.
base_config='{
  "ociVersion": "1.0.2",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": [],
    "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": true},
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["newinstance"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["mode=1777"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro"]}],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}], "memory": {"limit": 104857600}},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
}'
config() {
	jq --arg h "$2" --argjson a "$3" ".hostname = \$h | .process.args = \$a | ${4:-.}" <<<"$base_config" >"$work/$1.json" ||
		{ echo "# bad jq filter for $1"; return 1; }
	in_host sh -c "mkdir -p /tmp/$1 && cp -a /tmp/rootfs /tmp/$1/rootfs && cp $work/$1.json /tmp/$1/config.json"
}

testhost_up "vt-oci-$$" "$build" "$work/install.log"
in_host "$here/lib/busybox-root.sh" /tmp/rootfs sh echo cat sleep id pwd tr touch
in_host mkdir -p /tmp/share

# --- features ------------------------------------------------------------------
check "features: JSON with the versions" same "$(oci features | jq -r .ociVersionMin)" "1.0.0"

# --- lifecycle: create, state, start, exit --------------------------------------------
config c1 one '["sh", "-c", "echo started >/tmp/mark; echo hello; exit 3"]'
oci create --bundle /tmp/c1 --pid-file /tmp/c1/pid c1 >"$work/c1.out" 2>&1 </dev/null
check "create succeeds" [ $? = 0 ] || sed 's/^/#  /' "$work/c1.out"
check "state after create: status created" status_is c1 created
check "state: id" same "$(field c1 id)" "c1"
check "state: bundle" same "$(field c1 bundle)" "/tmp/c1"
check "state: ociVersion" same "$(field c1 ociVersion)" "1.0.2"
pid=$(field c1 pid)
check "state: pid of the container's first process, alive" in_host test -d "/proc/${pid:-none}"
check "the pid file holds the shim's PID, alive" in_host sh -c 'test -d /proc/$(cat /tmp/c1/pid)'
check "a created container is a Vivarium container (vivctl list)" listed one
check "... and a machined machine" contains "$(in_host machinectl list --no-pager)" "one"
check "... in its machine scope" contains "$(in_host systemctl is-active machine-one.scope)" "active"
check "created: the program has not run yet" not in_host test -e /tmp/c1/rootfs/tmp/mark
out=$(oci create --bundle /tmp/c1 c1 2>&1)
check "create of an existing id is refused" contains "$out" "container 'c1' exists already"
check "start succeeds" quiet oci start c1
check "the program ran" wait_for 300 in_host test -e /tmp/c1/rootfs/tmp/mark
check "then state says stopped" wait_for 300 status_is c1 stopped
check "state of a stopped container: pid 0" same "$(field c1 pid)" "0"
check "the exit status reaches the shim" same "$(in_host cat /run/voci/c1/exit)" "3"
check "stdout is relayed, without the pty's CR" same "$(cat "$work/c1.out")" "hello"
out=$(oci start c1 2>&1)
check "start of a stopped container is refused" contains "$out" "is stopped, not created"
out=$(oci kill c1 KILL 2>&1)
check "kill of a stopped container is refused" contains "$out" "container 'c1' is not running"
check "the container is gone from vivctl list" wait_for 300 not listed one
check "delete of a stopped container" quiet oci delete c1
out=$(oci state c1 2>&1)
check "state after delete: no such container" contains "$out" "container 'c1' does not exist"

# --- kill and delete --force ---------------------------------------------------------
config c2 two '["sh", "-c", "trap \"exit 7\" TERM; echo up; while :; do sleep 0.1; done"]'
check "a long-running container is created" quiet oci create --bundle /tmp/c2 c2 </dev/null
check "and started" quiet oci start c2
check "state: running" wait_for 100 status_is c2 running
out=$(oci exec c2 sh -c 'echo "in-$(cat /proc/1/comm)-$$"' 2>&1)
check "exec runs a command in the container's PID namespace" contains "$out" "in-sh-"
check "... not as its PID 1" [ "$out" != "in-sh-1" ]
oci exec c2 sh -c 'exit 4' >/dev/null 2>&1
check "exec: the command's exit status" [ $? = 4 ]
printf '%s' '{"args": ["sh", "-c", "echo \"$FOO $(pwd)\""], "env": ["PATH=/bin", "FOO=viaprocess"], "cwd": "/tmp", "user": {"uid": 0, "gid": 0}}' >"$work/process.json"
check "exec --process: args, env, cwd" same "$(oci exec --process "$work/process.json" c2 2>&1)" "viaprocess /tmp"
out=$(oci exec --user 1000 c2 true 2>&1)
check "exec as another user is refused" contains "$out" "--user: exec as a user other than root is not supported"
out=$(oci delete c2 2>&1)
check "delete of a running container is refused" contains "$out" "is running: stop it first"
check "... and leaves it running" status_is c2 running
check "kill TERM" quiet oci kill c2 TERM
check "the container ends by its TERM trap" wait_for 300 status_is c2 stopped
check "its status is the trap's" same "$(in_host cat /run/voci/c2/exit)" "7"
check "delete" quiet oci delete c2

config c3 three '["sleep", "600"]'
check "another container is created" quiet oci create --bundle /tmp/c3 c3 </dev/null
check "delete --force of a created container" quiet oci delete --force c3
check "... stops it" wait_for 300 not listed three
check "... and removes its state" not in_host test -e /run/voci/c3

# --- process.env, cwd, user; bind mount; user namespace -------------------------------------
config c4 four '["sh", "-c", "echo \"$FOO $(pwd) $(id -u):$(id -g)\" >/share/report"]' \
	'.process.env += ["FOO=bar"] | .process.cwd = "/tmp" | .process.user = {"uid": 1000, "gid": 1000}
	 | .mounts += [{"destination": "/share", "type": "bind", "source": "/tmp/share", "options": ["rbind", "rw"]}]'
in_host chmod 1777 /tmp/share
check "env/cwd/user container runs" quiet oci run --bundle /tmp/c4 c4 </dev/null
check "process.env, cwd and user took effect (through the bind mount)" \
	wait_for 300 in_host grep -qx "bar /tmp 1000:1000" /tmp/share/report
wait_for 300 status_is c4 stopped
oci delete c4 >/dev/null 2>&1

config c5 five '["sh", "-c", "tr -s \" \" </proc/self/uid_map >/tmp/map"]' \
	'.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
	 | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
check "a user-namespace container runs" quiet oci run --bundle /tmp/c5 c5 </dev/null
check "uidMappings became its uid_map" wait_for 300 in_host grep -q "0 200000 65536" /tmp/c5/rootfs/tmp/map
wait_for 300 status_is c5 stopped
oci delete c5 >/dev/null 2>&1

# --- list ------------------------------------------------------------------------------
config c6 six '["sleep", "600"]'
oci create --bundle /tmp/c6 c6 </dev/null >/dev/null 2>&1
check "list shows the container" contains "$(oci list)" "c6"
check "list --format json" same "$(oci list --format json | jq -r '.[0].status')" "created"
oci delete --force c6 >/dev/null 2>&1

# --- refused fields -----------------------------------------------------------------------
# refused NAME FILTER FIELD: config.json edited by FILTER is refused naming FIELD,
# with no state and no container left.
refused() {
	config "r-$1" "r-$1" '["true"]' "$2"
	out=$(oci create --bundle "/tmp/r-$1" "r-$1" 2>&1 </dev/null)
	check "$1: refused naming '$3'" contains "$out" "$3"
	check "$1: no state left" not in_host test -e "/run/voci/r-$1"
	check "$1: no container left" not listed "r-$1"
}
refused netns-path '.linux.namespaces[1].path = "/run/netns/x"' "linux.namespaces[1].path: joining an existing network namespace is not supported"
refused no-pidns '.linux.namespaces |= map(select(.type != "pid"))' "linux.namespaces: without a pid namespace"
refused devices '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]' "linux.devices: "
refused apparmor '.process.apparmorProfile = "unconfined"' "process.apparmorProfile: "
refused hooks '.hooks = {"prestart": [{"path": "/bin/true"}]}' "hooks: not supported by Vivarium"
refused nfs-mount '.mounts += [{"destination": "/mnt", "type": "nfs", "source": "srv:/x"}]' "mounts[7]: a 'nfs' mount on '/mnt' is not supported"
refused extra-gids '.process.user.additionalGids = [10]' "process.user.additionalGids[0]: supplementary groups"
refused intelrdt '.linux.intelRdt = {"closID": "x"}' "linux.intelRdt: not supported by Vivarium"
refused no-process 'del(.process)' "process: missing"

in_host rm -f /tmp/oci.log
oci --log /tmp/oci.log --log-format json create --bundle /tmp/r-hooks r-hooks >/dev/null 2>&1 </dev/null
check "--log --log-format json gets the error" same "$(in_host jq -r .level /tmp/oci.log 2>&1 | head -1)" "error"
out=$(oci exec c2 true 2>&1)
check "exec in a deleted container is refused" contains "$out" "container 'c2' does not exist"
check "nothing is left in vivctl list" same "$(in_host vivctl -c lxc:/// list --all | awk 'NR > 2 && NF { print $2 }')" ""

echo "1..$n"
[ "$failures" = 0 ]
