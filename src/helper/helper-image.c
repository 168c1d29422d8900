/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image-backed filesystems: <filesystem type='file'> (a disk image behind a
 * loop device) and <filesystem type='block'> (a host block device).
 *
 * The helper mounts them in the host's mount namespace as *detached* mounts
 * (fsopen/fsmount), exactly where it clones the sources of type='mount': the
 * result is one more mount fd that the child attaches in the container's
 * namespace (and that a picked user namespace idmaps). Nothing is ever
 * attached to the host's tree, so no path out of the helper can leave a
 * mount behind.
 *
 * The loop device is configured with LO_FLAGS_AUTOCLEAR and its fd closed as
 * soon as the filesystem holds the device: the kernel then detaches the loop
 * device itself when the last mount of the filesystem goes, which is when
 * the container's mount namespace dies. That covers every way out (stop,
 * destroy, init's crash, the helper SIGKILLed, a failed start) without any
 * cleanup code of ours that a SIGKILL could skip. */

#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "helper-log.h"

/* a concurrent losetup may take the free device between GET_FREE and
 * CONFIGURE (EBUSY): try the next free one, a bounded number of times */
#define LOOP_ATTACH_TRIES 16

static int loop_attach(int image_fd, bool readonly, int *ret_loop_fd, char ret_path[static 32]) {
        _cleanup_close_ int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                return -errno;

        for (int attempt = 0; attempt < LOOP_ATTACH_TRIES; attempt++) {
                _cleanup_close_ int loop = -EBADF;
                int n = ioctl(control, LOOP_CTL_GET_FREE);
                if (n < 0)
                        return -errno;
                snprintf(ret_path, 32, "/dev/loop%d", n);
                loop = open(ret_path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
                if (loop < 0)
                        return -errno;
                struct loop_config config = {
                        .fd = (uint32_t) image_fd,
                        .info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0),
                };
                if (ioctl(loop, LOOP_CONFIGURE, &config) < 0) {
                        if (errno == EBUSY)
                                continue;
                        return -errno;
                }
                *ret_loop_fd = TAKE_FD(loop);
                return 0;
        }
        return -EBUSY;
}

/* The block filesystems this kernel knows (the lines of /proc/filesystems
 * without "nodev"), ext4 first: libvirt's LXC driver probes them the same
 * way. fuseblk needs a FUSE daemon and is left out. */
static int block_fstypes(char ***ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
        _cleanup_free_ char *line = NULL;
        _cleanup_strv_free_ char **list = NULL;
        size_t n = 0, sz = 0;

        if (!f)
                return -errno;
        while (getline(&line, &sz, f) > 0) {
                char name[64];
                if (strncmp(line, "nodev", 5) == 0 || sscanf(line, " %63s", name) != 1 || streq(name, "fuseblk"))
                        continue;
                char **l = realloc(list, (n + 2) * sizeof(char *));
                if (!l)
                        return -ENOMEM;
                list = l;
                if (!(list[n] = strdup(name)))
                        return -ENOMEM;
                list[++n] = NULL;
                if (streq(name, "ext4") && n > 1) {
                        /* ext4 also mounts ext2/3: try it before them */
                        char *ext4 = list[n - 1];
                        memmove(list + 1, list, (n - 1) * sizeof(char *));
                        list[0] = ext4;
                }
        }
        if (!list)
                return -ENODEV;
        *ret = TAKE_PTR(list);
        return 0;
}

static int mount_block(const char *dev, bool readonly, int *ret_mnt, char ret_fstype[static 64]) {
        _cleanup_strv_free_ char **types = NULL;
        int r = block_fstypes(&types);

        if (r < 0)
                return r;
        for (char **t = types; *t; t++) {
                _cleanup_close_ int fs = fsopen(*t, FSOPEN_CLOEXEC);
                if (fs < 0)
                        continue;
                if (fsconfig(fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
                    (readonly && fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0))
                        return -errno;
                if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                        /* EINVAL: not this type; anything else (EBUSY,
                         * EACCES, EROFS, ...) is the answer */
                        if (errno != EINVAL)
                                return -errno;
                        continue;
                }
                /* no device node of the image reaches the host's devices */
                int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0));
                if (m < 0)
                        return -errno;
                snprintf(ret_fstype, 64, "%s", *t);
                *ret_mnt = m;
                return 0;
        }
        return -ENODEV;
}

/* nbd: qemu-nbd serves the image on /dev/nbdN (libvirt's driver,
 * helper-nbd.c). The kernel's nbd driver is required; without it the start
 * says so. */
static bool kernel_has_nbd(void) {
        return access("/sys/module/nbd", F_OK) == 0 || access("/dev/nbd0", F_OK) == 0;
}

int image_mount_open(const DomainFilesystem *fs, const char *name, NbdDevices *nbd, int *ret_mnt, char **ret_error) {
        _cleanup_close_ int image = -EBADF, loop = -EBADF;
        char dev[32], fstype[64];
        const char *source = fs->source;
        struct stat st;
        int r;

        if (fs->type == FILESYSTEM_BLOCK) {
                if (stat(source, &st) < 0) {
                        r = -errno;
                        (void) asprintf(ret_error, "Failed to open block device '%s' of container '%s': %s",
                                        source, name, strerror(-r));
                        return r;
                }
                if (!S_ISBLK(st.st_mode)) {
                        (void) asprintf(ret_error, "Filesystem source '%s' of container '%s' is not a block device",
                                        source, name);
                        return -ENOTBLK;
                }
                r = mount_block(source, fs->readonly, ret_mnt, fstype);
                if (r < 0)
                        (void) asprintf(ret_error, "Failed to mount block device '%s' of container '%s': %s",
                                        source, name,
                                        r == -ENODEV ? "no filesystem this kernel knows was found on it" : strerror(-r));
                return r;
        }

        if (fs->driver == FILESYSTEM_DRIVER_NBD) {
                if (!kernel_has_nbd()) {
                        (void) asprintf(ret_error,
                                        "Image '%s' of container '%s' needs <driver type='nbd'>, and this kernel has no "
                                        "nbd driver (no /sys/module/nbd, no /dev/nbd0): load the nbd module, or use a "
                                        "raw image with <driver type='loop'>", source, name);
                        return -EOPNOTSUPP;
                }
                if (!nbd)
                        return -EOPNOTSUPP;
                r = nbd_connect(nbd, fs, name, dev, ret_error);
                if (r < 0)
                        return r;
                r = mount_block(dev, fs->readonly, ret_mnt, fstype);
                if (r < 0) {
                        (void) asprintf(ret_error, "Failed to mount image '%s' (%s, served by qemu-nbd) of container '%s': %s",
                                        source, dev, name,
                                        r == -ENODEV ? "no filesystem this kernel knows was found in it" : strerror(-r));
                        nbd_release(nbd, dev);
                        return r;
                }
                log_debug("Mounted image '%s' (%s, %s) for container '%s'.", source, dev, fstype, name);
                return 0;
        }

        image = open(source, (fs->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
        if (image < 0) {
                r = -errno;
                (void) asprintf(ret_error, "Failed to open image file '%s' of container '%s': %s",
                                source, name, strerror(-r));
                return r;
        }
        if (fstat(image, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode)) {
                (void) asprintf(ret_error, "Image file '%s' of container '%s' is not a regular file", source, name);
                return -EINVAL;
        }
        r = loop_attach(image, fs->readonly, &loop, dev);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to attach image file '%s' of container '%s' to a loop device: %s",
                                source, name, strerror(-r));
                return r;
        }
        /* the mount holds the device from here; closing our fd (at return)
         * leaves the filesystem as its last user, so AUTOCLEAR detaches it
         * when the filesystem goes. On failure the close detaches it now. */
        r = mount_block(dev, fs->readonly, ret_mnt, fstype);
        if (r < 0) {
                (void) asprintf(ret_error, "Failed to mount image file '%s' (%s) of container '%s': %s",
                                source, dev, name,
                                r == -ENODEV ? "no filesystem this kernel knows was found in it" : strerror(-r));
                return r;
        }
        log_debug("Mounted image '%s' (%s, %s) for container '%s'.", source, dev, fstype, name);
        return 0;
}
