/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Phase tracing of a start (issue 14): with VIVARIUM_TRACE=FILE in the
 * environment, trace_point("phase") appends one line
 *
 *   SECONDS.MICROS PROGRAM PID PHASE
 *
 * (CLOCK_MONOTONIC, so lines of vivctl, vivariumd and the helpers sort into
 * one timeline) to FILE, opened O_APPEND: each line is one write(), whole
 * even when processes write at once. Without the variable a call costs one
 * test of a cached flag. Writes are best effort: a full disk never fails a
 * start. bench/phases.py turns a file into medians per phase. */

void trace_point(const char *phase);
