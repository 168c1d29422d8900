#!/bin/bash
# vivarium-helper in foreground mode (no manager, no cgroups): the container's
# world as DESIGN.md describes it, checked from inside with /bin/sh (shared
# root) and a static busybox (private root), and that nothing is left on the
# machine afterwards: mounts (findmnt before/after), processes, files.
# Exit: 0 pass, 1 fail, 77 skipped (1 instead when VIVARIUM_TESTS_MUST_RUN=1).
set -uo pipefail

skip() {
	if [ "${VIVARIUM_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "FAIL (must run): $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root"
helper=${VIVARIUM_BUILD_DIR:-build}/src/helper/vivarium-helper
[ -x "$helper" ] || skip "no helper binary at $helper"
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
unshare -m true 2>/dev/null || skip "cannot create mount namespaces"

# The test runs in a mount namespace of its own, a private copy of the
# machine's: the helper's "host" is this namespace, so a mount it leaked would
# show in the findmnt comparison below, while mounts made meanwhile by other
# tests on the machine do not disturb it (and nothing can reach the machine).
if [ -z "${VT_HELPER_FG_INNER:-}" ]; then
	export VT_HELPER_FG_INNER=1
	exec unshare -m --propagation private "$0" "$@"
fi

# shellcheck source=tests/lib/check.sh
. "$(dirname "$(readlink -f "$0")")/lib/check.sh"
# shellcheck source=tests/lib/busybox-root.sh
. "$(dirname "$(readlink -f "$0")")/lib/busybox-root.sh"
contains() { # FILE STRING
	if grep -qF -- "$2" "$1"; then return 0; fi
	echo "# '$2' not in $1:" >&2
	sed 's/^/#   /' "$1" >&2
	return 1
}
lacks() { ! grep -qF -- "$2" "$1"; }
# quiet FILE: the helper's stderr holds nothing but what it rightly says on a
# systemd host when all goes well: that it detached the host's autofs mounts
# (systemd's binfmt_misc automount), that it runs outside a scope, and that
# lxcfs does not run on the machine (no /proc view: test-procview has it).
quiet() {
	local rest
	rest=$(grep -v -e "\]: Detached autofs mount '[^']*' from the container's mount namespace\.\$" \
		-e "\]: Not running in a systemd scope (cgroup " \
		-e "\]: lxcfs is not running (no FUSE filesystem on /var/lib/lxcfs): " "$1")
	[ -z "$rest" ] && return 0
	printf '%s\n' "$rest" | sed 's/^/#   /' >&2
	return 1
}

mounts_snapshot() { findmnt -rn -o TARGET,FSTYPE,OPTIONS | sort; }

# shellcheck source=tests/lib/run-locks.sh
. "$(dirname "$(readlink -f "$0")")/lib/run-locks.sh"
run_locks_mark

T=$(mktemp -d /tmp/vt-helper.XXXXXX)
cleanup() {
	run_locks_clean
	# nothing may be mounted below T: then it is safe to remove
	if findmnt -rn -o TARGET | grep -q "^$T"; then
		echo "# mounts left below $T, not removing it" >&2
		return
	fi
	rm -rf "$T"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT; echo "# T=$T"

mounts_snapshot >"$T/mounts.before"

uuid=5b0d2c1e-7e2a-4d2b-9a51-0f3c2e7d9a10
# xml NAME INIT-ARG-SCRIPT [EXTRA-DEVICES] [EXTRA-DOMAIN] [INIT]
xml() {
	local name=$1 script=$2 devices=${3:-} extra=${4:-} init=${5:-/bin/sh}
	script=$(xml_escape "$script")
	cat >"$T/$name.xml" <<XML
<domain type='lxc'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory>102400</memory>
  <os>
    <type>exe</type>
    <init>$init</init>
    <initarg>-c</initarg>
    <initarg>$script</initarg>
    <initenv name='FOO'>bar baz</initenv>
  </os>
  $extra
  <devices>
    <console type='pty'/>
    $devices
  </devices>
</domain>
XML
}
# run NAME: runs the helper on $T/NAME.xml; output in $T/NAME.out (\r removed), .err, .rc
run() {
	local name=$1
	shift
	OVL=${OVL:-} AUTOFS_DIR=${AUTOFS_DIR:-} timeout 60 "$@" "$helper" --name "$name" --xml "$T/$name.xml" --foreground \
		</dev/null >"$T/$name.raw" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
	tr -d '\r' <"$T/$name.raw" >"$T/$name.out"
}
rc() { cat "$T/$1.rc"; }

# --- shared root: identity, environment, PID 1, hostname ---
xml shared 'echo "name=$LIBVIRT_LXC_NAME"; echo "uuid=$LIBVIRT_LXC_UUID"; echo "cuuid=$container_uuid";
echo "container=$container"; echo "home=$HOME"; echo "path=$PATH"; echo "foo=$FOO";
echo "host=$(hostname)"; echo "pid=$$"; echo "cmd=$(tr "\0" " " </proc/1/cmdline)";
echo "tty=$(readlink /proc/self/fd/0)"; ls /dev | tr "\n" " "; echo;
touch /proc/sys/kernel/hostname 2>/dev/null && echo procsys-rw || echo procsys-ro;
mkdir /sys/vt-test 2>/dev/null && echo sys-rw || echo sys-ro;
test -s /proc/keys && echo keys-visible || echo keys-masked;
echo x >/dev/null && echo devnull-ok; head -c 4 /dev/urandom | wc -c;
exit 0'
run shared
check "shared root: exit status 0" [ "$(rc shared)" = 0 ]
check "shared root: LIBVIRT_LXC_NAME" contains "$T/shared.out" "name=shared"
check "shared root: LIBVIRT_LXC_UUID" contains "$T/shared.out" "uuid=$uuid"
check "shared root: container_uuid" contains "$T/shared.out" "cuuid=$uuid"
check "shared root: container=vivarium" contains "$T/shared.out" "container=vivarium"
check "shared root: HOME=/" contains "$T/shared.out" "home=/"
check "shared root: PATH" contains "$T/shared.out" "path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
check "shared root: initenv" contains "$T/shared.out" "foo=bar baz"
check "shared root: hostname is the name" contains "$T/shared.out" "host=shared"
check "shared root: init is PID 1" contains "$T/shared.out" "pid=1"
check "shared root: /proc/1/cmdline is init" contains "$T/shared.out" "cmd=/bin/sh -c"
check "shared root: stdio on the console, pts/0 of its own devpts" contains "$T/shared.out" "tty=/dev/pts/0"
check "shared root: /dev has the nodes" contains "$T/shared.out" "console fd full mqueue null ptmx pts random shm stderr stdin stdout tty tty1 urandom zero"
check "shared root: /proc/sys read-only" contains "$T/shared.out" "procsys-ro"
check "shared root: /sys read-only" contains "$T/shared.out" "sys-ro"
check "shared root: /proc/keys masked" contains "$T/shared.out" "keys-masked"
check "shared root: /dev/null works" contains "$T/shared.out" "devnull-ok"
check "shared root: /dev/urandom works" contains "$T/shared.out" "4"
check "shared root: quiet on success" quiet "$T/shared.err"

# --- exit status propagation ---
xml status 'exit 7'
run status
check "exit status 7 propagated" [ "$(rc status)" = 7 ]
# init is protected from its own namespace's signals; the helper, sent
# SIGTERM, destroys the container: init dies of SIGKILL, status 128+9
xml killed 'sleep 600'
"$helper" --name killed --xml "$T/killed.xml" --foreground </dev/null >/dev/null 2>"$T/killed.err" &
hpid=$!
for _ in $(seq 50); do
	[ -n "$(pgrep -P $hpid)" ] && break
	sleep 0.1
done
sleep 0.3
kill -TERM $hpid
wait $hpid
check "helper SIGTERMed: init killed, status 137" [ $? = 137 ]

# --- the seed's custom mounts on the shared root, readonly, ram ---
# /etc/httpd and /var/www do not exist on a usual host: the helper creates the
# targets. The helper runs in a mount namespace where /etc and /var are
# overlays on a tmpfs, so that the machine's /etc and /var stay untouched.
mkdir -p "$T/config" "$T/data" "$T/ro" "$T/ovl"
touch "$T/config/hello.txt" "$T/data/world.txt" "$T/ro/file"
xml mounts 'ls /etc/httpd/; ls /var/www/; touch /var/www/new && echo rw-ok;
touch /srv/ro/x 2>/dev/null && echo ro-writable || echo ro-refused; ls /srv/ro;
grep " /scratch " /proc/mounts; echo data >/scratch/f && cat /scratch/f' "
    <filesystem type='mount'><source dir='$T/config'/><target dir='/etc/httpd'/></filesystem>
    <filesystem type='mount'><source dir='$T/data'/><target dir='/var/www'/></filesystem>
    <filesystem type='mount'><source dir='$T/ro'/><target dir='/srv/ro'/><readonly/></filesystem>
    <filesystem type='ram'><source usage='2048' units='KiB'/><target dir='/scratch'/></filesystem>"
cat >"$T/overlay-run.sh" <<'SH'
#!/bin/bash
# runs "$@" in a mount namespace where /etc, /var and /srv are overlays whose
# writes go to $OVL
set -e
for d in etc var srv; do
	mkdir -p "$OVL/$d.u" "$OVL/$d.w"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$OVL/$d.u,workdir=$OVL/$d.w" /$d
done
exec "$@"
SH
chmod +x "$T/overlay-run.sh"
OVL=$T/ovl run mounts unshare -m --propagation private "$T/overlay-run.sh"
check "mounts: exit status 0" [ "$(rc mounts)" = 0 ]
check "mounts: /etc/httpd shows hello.txt" contains "$T/mounts.out" "hello.txt"
check "mounts: /var/www shows world.txt" contains "$T/mounts.out" "world.txt"
check "mounts: writable mount writes through to the host dir" [ -e "$T/data/new" ]
check "mounts: readonly mount refuses writes" contains "$T/mounts.out" "ro-refused"
check "mounts: readonly mount shows its files" contains "$T/mounts.out" "file"
check "mounts: ram filesystem is a tmpfs with its size" contains "$T/mounts.out" "size=2048k"
check "mounts: ram filesystem is writable" contains "$T/mounts.out" "data"
check "mounts: the machine's /etc/httpd was not created" [ ! -e /etc/httpd ]

# --- a source that does not exist ---
xml nosource 'exit 0' "<filesystem type='mount'><source dir='$T/missing'/><target dir='/mnt'/></filesystem>"
run nosource
check "missing source: start fails" [ "$(rc nosource)" != 0 ]
check "missing source: the message names it" contains "$T/nosource.err" \
	"Failed to open filesystem source '$T/missing' for container 'nosource': No such file or directory"

# --- an init that does not exist / is not executable ---
xml noinit 'exit 0' '' '' /nonexistent/init
run noinit
check "missing init: start fails" [ "$(rc noinit)" != 0 ]
check "missing init: the message says why" contains "$T/noinit.err" \
	"Failed to execute init '/nonexistent/init' in container 'noinit': No such file or directory"
printf 'not a program\n' >"$T/notexec"
chmod 644 "$T/notexec"
xml noexec 'exit 0' '' '' "$T/notexec"
run noexec
check "init not executable: the message says why" contains "$T/noexec.err" \
	"Failed to execute init '$T/notexec' in container 'noexec': Permission denied"

# --- private network: only lo, up; net sysctls writable ---
xml privnet 'ls /sys/class/net | tr "\n" " "; echo; cat /sys/class/net/lo/flags;
echo 1 >/proc/sys/net/ipv4/ip_forward && echo netsysctl-rw;
touch /proc/sys/kernel/hostname 2>/dev/null && echo procsys-rw || echo procsys-ro;
grep -w sysfs /proc/self/mountinfo | grep -q " /sys ro," && echo fresh-sysfs-ro' '' '<features><privnet/></features>'
run privnet
check "privnet: only lo" contains "$T/privnet.out" "lo "
check "privnet: lo is up (IFF_UP)" grep -Eq '^0x[0-9a-f]*[13579bdf]$' "$T/privnet.out"
check "privnet: net sysctls writable" contains "$T/privnet.out" "netsysctl-rw"
check "privnet: other sysctls read-only" contains "$T/privnet.out" "procsys-ro"
check "privnet: fresh read-only sysfs" contains "$T/privnet.out" "fresh-sysfs-ro"

# --- capabilities and seccomp ---
xml caps 'grep CapBnd /proc/self/status; grep Seccomp: /proc/self/status; grep NoNewPrivs /proc/self/status'
run caps
# default set: bit 27 (mknod) off, bit 21 (sys_admin) on, bit 16 (sys_module) off
bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' "$T/caps.out")
check "caps: bounding set reduced" [ -n "$bnd" ] && [ $((0x$bnd & (1 << 16))) = 0 ] && [ $((0x$bnd & (1 << 27))) = 0 ] && [ $((0x$bnd & (1 << 21))) != 0 ]
check "seccomp: filter installed" contains "$T/caps.out" "Seccomp:	2"
check "no_new_privs not set" contains "$T/caps.out" "NoNewPrivs:	0"
if command -v perl >/dev/null && [ "$(uname -m)" = x86_64 ]; then
	# keyctl (250) and open_by_handle_at (304) on x86_64: EPERM from the filter
	xml seccomp 'perl -e "syscall(250, 0, 0, 0, 0); print \"keyctl: \$!\n\"; syscall(304, -1, 0, 0); print \"obh: \$!\n\""'
	run seccomp
	check "seccomp: keyctl denied with EPERM" contains "$T/seccomp.out" "keyctl: Operation not permitted"
	check "seccomp: open_by_handle_at denied with EPERM" contains "$T/seccomp.out" "obh: Operation not permitted"
fi
xml capsdeny 'grep CapBnd /proc/self/status' '' "<features><capabilities policy='deny'><chown state='on'/></capabilities></features>"
run capsdeny
check "caps: policy=deny with one toggle" contains "$T/capsdeny.out" "CapBnd:	0000000000000001"

# --- a busybox private root: the seed's last example ---
if file -L /bin/busybox 2>/dev/null | grep -q "statically linked"; then
	R=$T/root
	busybox_root "$R" ls cat rm find ps echo date kill sleep true false test pwd sh which grep head wget \
		mount touch mkdir tr wc hostname readlink id
	mkdir -p "$R/etc/httpd" "$R/var/www"
	echo 'web:x:1000:1000::/:/bin/sh' >"$R/etc/passwd"
	echo 'web:x:1000:' >"$R/etc/group"
	mkdir -p "$R/srv/shared"
	echo in-root >"$R/srv/shared/r.txt"
	xml private 'cd /; ls; ls /bin | wc -l; ls /etc/httpd/; ls /var/www/; ps; cat /proc/mounts; echo id=$(id -u):$(id -g);
cat /opt/alias/r.txt; touch /opt/alias/x 2>/dev/null || echo bind-ro' "
    <filesystem type='mount'><source dir='$R'/><target dir='/'/></filesystem>
    <filesystem type='bind'><source dir='/srv/shared'/><target dir='/opt/alias'/><readonly/></filesystem>
    <filesystem type='mount'><source dir='$T/config'/><target dir='/etc/httpd'/></filesystem>
    <filesystem type='mount'><source dir='$T/data'/><target dir='/var/www'/></filesystem>"
	run private
	check "private root: exit status 0" [ "$(rc private)" = 0 ]
	check "private root: its own / (bin dev etc opt proc srv sys tmp var)" grep -Eq "^bin +dev +etc +opt +proc +srv +sys +tmp +var *$" "$T/private.out"
	check "private root: type='bind' of its own directory" contains "$T/private.out" "in-root"
	check "private root: readonly type='bind'" contains "$T/private.out" "bind-ro"
	check "private root: /etc/httpd shows hello.txt" contains "$T/private.out" "hello.txt"
	check "private root: /var/www shows world.txt" contains "$T/private.out" "world.txt"
	check "private root: ps shows sh as PID 1" grep -Eq '^ *1 +[^ ]+ +/bin/sh' "$T/private.out"
	check "private root: /proc/sys read-only" grep -q "proc /proc/sys proc ro" "$T/private.out"
	# gid: the tty group, as the host's ID (the kernel shows devpts options in
	# the initial user namespace's IDs; in the default user namespace not 5)
	check "private root: devpts instance of its own" grep -Eq "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=[0-9]+,mode=620,ptmxmode=666" "$T/private.out"
	check "private root: /dev is a small tmpfs" grep -q "tmpfs /dev tmpfs rw,nosuid,noexec,relatime,size=4096k,mode=755" "$T/private.out"
	check "private root: root user" contains "$T/private.out" "id=0:0"

	xml user 'echo id=$(id -u):$(id -g); grep CapEff /proc/self/status' "
    <filesystem type='mount'><source dir='$R'/><target dir='/'/></filesystem>" \
		'' /bin/sh
	sed -i "s|<initenv|<initdir>/etc</initdir><inituser>web</inituser><initenv|" "$T/user.xml"
	sed -i 's|<initarg>echo id=|<initarg>echo cwd=$(pwd); echo id=|' "$T/user.xml"
	run user
	check "inituser resolved in the container's /etc/passwd" contains "$T/user.out" "id=1000:1000"
	check "initdir is init's working directory" contains "$T/user.out" "cwd=/etc"
	check "inituser: no effective capabilities" contains "$T/user.out" "CapEff:	0000000000000000"

	# a user namespace: root inside is uid 100000 outside
	xml userns 'echo id=$(id -u):$(id -g); cat /proc/self/uid_map; cat /etc/httpd/hello.txt && echo bind-ok; ps | grep -c sh' "
    <filesystem type='mount'><source dir='$R'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='$T/config'/><target dir='/etc/httpd'/></filesystem>" \
		"<idmap><uid start='0' target='100000' count='65536'/><gid start='0' target='100000' count='65536'/></idmap>"
	run userns
	check "userns: starts" [ "$(rc userns)" = 0 ]
	check "userns: root inside" contains "$T/userns.out" "id=0:0"
	check "userns: the uid map" grep -Eq '^ +0 +100000 +65536$' "$T/userns.out"
	check "userns: bind mounts from the host work" contains "$T/userns.out" "bind-ok"
else
	echo "# no static busybox: private root cases skipped"
fi

# autofs: tests/test-autofs.sh

# --- nothing left on the machine ---
mounts_snapshot >"$T/mounts.after"
check "no mount left or changed on the machine" diff "$T/mounts.before" "$T/mounts.after"
leftover=$(for p in /proc/[0-9]*; do readlink "$p/root"; done 2>/dev/null | grep -c "^$T" || true)
check "no process left in a container root" [ "$leftover" = 0 ]
check "no helper process left" [ -z "$(pgrep -f -- "--xml $T/" || true)" ]

echo "1..$n"
[ "$failures" = 0 ]
