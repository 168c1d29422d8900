/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* <disk type='file'>: a raw image on a loop device, as libvirt's LXC driver
 * does it. The device is configured with LO_FLAGS_AUTOCLEAR, so it is
 * released when its last opener closes it: vivariumd attaches it and holds
 * it until the helper holds it too; the helper holds it while the container
 * runs. Whatever way the run ends (stop, crash, helper killed, manager
 * restarted), the kernel frees the device once nobody has it open.
 *
 * Nodes are opened through a private detached tmpfs, never the host's /dev:
 * a host whose /dev has no loopN node yet (no udev, a test host) works too.
 * Never logs. */

#include <stdbool.h>
#include <sys/types.h>

/* Opens the device (mode S_IFBLK or S_IFCHR) rdev with flags through a
 * private node. Returns the fd or -errno. */
int device_open_private(mode_t type, dev_t rdev, int flags);

/* Attaches the image at path to a free loop device (read-only when asked).
 * Returns the loop device's fd (O_CLOEXEC) and its number in *ret_rdev, or
 * -errno (-ENOENT: no image; -ENODEV: no loop support). */
int loop_attach(const char *path, bool readonly, dev_t *ret_rdev);

/* The loop device whose backing file is path (as the caller's root names
 * it, from /sys/block/loop*\/loop/backing_file): 0 and its number, or
 * -ENOENT. For a manager restarted while a container holds an image. */
int loop_find_by_backing(const char *path, dev_t *ret_rdev);
