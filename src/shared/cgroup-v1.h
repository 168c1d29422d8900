/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The mount point of the cgroup v1 hierarchy that has every controller of the
 * comma-separated CONTROLLERS ("cpuset", "name=systemd"), or of cgroup2 when
 * CONTROLLERS is NULL, among the mounts whose root is "/" (a foreign cgroup
 * namespace's view is not ours to write). -ENOENT when there is none. */
int cgroup_hierarchy_mount(const char *controllers, char **ret);
/* The same from MOUNTINFO, the text of /proc/self/mountinfo read once for
 * several hierarchies. */
int cgroup_hierarchy_mount_from(const char *mountinfo, const char *controllers, char **ret);

/* The container's cgroup of its own in a cgroup v1 cpuset hierarchy:
 * MOUNT/machine.slice/UNIT, beside where systemd keeps the scope in the
 * hierarchies it manages (systemd does not manage cpuset v1, so a scope is
 * never placed there, and lxcfs, which reads a process's cpuset from it,
 * would see the whole host). -ENOENT without a v1 cpuset hierarchy. */
int cpuset_v1_path(const char *unit, char **ret);

/* Makes PATH (and its parent, machine.slice, with the parent's CPUs and
 * memory nodes: v1 refuses tasks in a cpuset without them) with the CPUs of
 * LIST (libvirt's syntax, "0-3,^2") and the parent's memory nodes, and moves
 * PID into it. A PATH left by an earlier run is reused. */
int cpuset_v1_enter(const char *path, const char *list, pid_t pid);

/* Removes the cgroup PATH once its tasks are gone (the kernel lists an
 * exiting task a little longer: -EBUSY is retried for up to a second). 0 when
 * absent. */
int cgroup_rmdir_retry(const char *path);

/* The cgroup path that TEXT (the contents of /proc/PID/cgroup) gives for the
 * hierarchy systemd keeps its units in: cgroup2's "0::" line when UNIFIED
 * (/sys/fs/cgroup is cgroup2), else the name=systemd line (hybrid, legacy).
 * Only that line says which unit, and which leaf of it, a process is in: on a
 * hybrid host the helper leaves some v1 controllers without leaves, where the
 * container's processes sit in the scope's own cgroup. -ENOENT without it. */
int cgroup_systemd_path(const char *text, bool unified, char **ret);

/* Whether PATH (from cgroup_systemd_path(), or systemd's GetUnitProcesses)
 * is UNIT's own cgroup or its supervisor/ leaf, where the helper and what it
 * runs (qemu-nbd) sit: the first component named UNIT, followed by nothing
 * or by "/supervisor" alone. Never by a tail match: the container's root
 * owns payload/ and may make payload/UNIT/supervisor/ below it. */
bool cgroup_path_is_helpers(const char *path, const char *unit);

/* Whether the comma-separated CONTROLLERS of a v1 hierarchy
 * ("cpu,cpuacct") has CONTROLLER ("cpu"). */
bool cgroup_controllers_have(const char *controllers, const char *controller);

/* Whether the helper makes supervisor/ and payload/ in the v1 hierarchy of
 * CONTROLLERS ("memory", "cpu,cpuacct", "name=systemd", ...): only where a
 * leaf is used (name=systemd: the units of a systemd inside; devices: the
 * container's device rules; pids: its processes, listed; freezer: a scope
 * there would be frozen by payload/, though systemd makes none). A leaf of memory,
 * cpu or blkio costs the kernel a memory cgroup, a task group per CPU or a
 * blkcg at every start, and nothing reads one: the limits and the accounting
 * are the scope's. */
bool cgroup_v1_wants_leaves(const char *controllers);
