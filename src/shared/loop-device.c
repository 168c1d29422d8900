/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "loop-device.h"
#include "macros.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

#define LOOP_CONTROL_MAJOR 10
#define LOOP_CONTROL_MINOR 237
/* LOOP_CTL_GET_FREE races with other users of loop devices: a device it
 * named may be taken before we configure it */
#define LOOP_ATTACH_TRIES 16

int device_open_private(mode_t type, dev_t rdev, int flags) {
        _cleanup_close_ int fs = -EBADF, mnt = -EBADF;
        int fd;

        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        if (mnt < 0)
                return -errno;
        if (mknodat(mnt, "node", type | 0600, rdev) < 0)
                return -errno;
        fd = openat(mnt, "node", flags | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

/* The number of loop device N, from sysfs (minors are not always N). */
static int loop_rdev(long n, dev_t *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        unsigned maj, min;
        int r;

        if (asprintf(&path, "/sys/class/block/loop%ld/dev", n) < 0)
                return -ENOMEM;
        r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "%u:%u", &maj, &min) != 2)
                return -EBADMSG;
        *ret = makedev(maj, min);
        return 0;
}

int loop_attach(const char *path, bool readonly, dev_t *ret_rdev) {
        _cleanup_close_ int image = -EBADF, control = -EBADF;
        int r = -EBUSY;

        image = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
        if (image < 0)
                return -errno;
        control = device_open_private(S_IFCHR, makedev(LOOP_CONTROL_MAJOR, LOOP_CONTROL_MINOR), O_RDWR);
        if (control < 0)
                return control == -ENXIO || control == -ENODEV ? -ENODEV : control;

        for (unsigned i = 0; i < LOOP_ATTACH_TRIES; i++) {
                struct loop_config config = {
                        .fd = (uint32_t) image,
                        .info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0),
                };
                _cleanup_close_ int loop = -EBADF;
                dev_t rdev;
                long n;

                n = ioctl(control, LOOP_CTL_GET_FREE);
                if (n < 0)
                        return -errno;
                r = loop_rdev(n, &rdev);
                if (r < 0)
                        return r;
                loop = device_open_private(S_IFBLK, rdev, readonly ? O_RDONLY : O_RDWR);
                if (loop < 0)
                        return loop;
                if (ioctl(loop, LOOP_CONFIGURE, &config) < 0) {
                        r = -errno;
                        if (r == -EBUSY)
                                continue;
                        return r;
                }
                *ret_rdev = rdev;
                return TAKE_FD(loop);
        }
        return r;
}

int loop_find_by_backing(const char *path, dev_t *ret_rdev) {
        _cleanup_(closedirp) DIR *d = opendir("/sys/block");

        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *file = NULL, *text = NULL;
                char *end;
                long n;

                if (strncmp(de->d_name, "loop", 4) != 0)
                        continue;
                n = strtol(de->d_name + 4, &end, 10);
                if (end == de->d_name + 4 || *end)
                        continue;
                if (asprintf(&file, "/sys/block/%s/loop/backing_file", de->d_name) < 0)
                        return -ENOMEM;
                if (read_full_file(file, &text, NULL) < 0)
                        continue;  /* not attached */
                text[strcspn(text, "\n")] = 0;
                if (streq(text, path))
                        return loop_rdev(n, ret_rdev);
        }
        return -ENOENT;
}
