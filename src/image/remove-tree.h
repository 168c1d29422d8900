/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Removes NAME below DIR_FD and everything under it, never following a
 * symlink and never crossing into another mount (-EBUSY there). ENOENT is
 * success. */
int remove_tree_at(int dir_fd, const char *name);

/* Removes everything in the directory FD (open for reading), the same way;
 * FD stays open. */
int empty_dir(int fd);
