/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Names of the public D-Bus API (fixed by DESIGN.md) and of the private
 * manager ⇄ helper protocol (docs/internals.md). */

#define VIV_BUS_NAME            "org.vivarium1"
#define VIV_MANAGER_PATH        "/org/vivarium1"
#define VIV_MANAGER_IFACE       "org.vivarium1.Manager"
#define VIV_CONTAINER_PREFIX    "/org/vivarium1/container"
#define VIV_CONTAINER_IFACE     "org.vivarium1.Container"
#define VIV_NETWORK_PREFIX      "/org/vivarium1/network"
#define VIV_NETWORK_IFACE       "org.vivarium1.Network"
#define VIV_CONSOLE_STREAM_PREFIX "/org/vivarium1/console"
#define VIV_CONSOLE_STREAM_IFACE  "org.vivarium1.ConsoleStream"

#define VIV_HELPER_PATH         "/org/vivarium1/helper"
#define VIV_HELPER_IFACE        "org.vivarium1.Helper"
/* live attach/detach of host devices (src/helper/helper-hostdev.c) */
#define VIV_HELPER_DEVICES_IFACE "org.vivarium1.Helper.Devices"

#define VIV_RUN_DIR             "/run/vivarium"
#define VIV_RUN_CONTAINERS_DIR  "/run/vivarium/containers"
#define VIV_ETC_CONTAINERS_DIR  SYSCONFDIR "/vivarium/containers"
#define VIV_ETC_NETWORKS_DIR    SYSCONFDIR "/vivarium/networks"

#define VIV_ERROR_NO_SUCH_CONTAINER "org.vivarium1.Error.NoSuchContainer"
#define VIV_ERROR_CONTAINER_EXISTS  "org.vivarium1.Error.ContainerExists"
#define VIV_ERROR_INVALID_CONFIG    "org.vivarium1.Error.InvalidConfig"
#define VIV_ERROR_NOT_RUNNING       "org.vivarium1.Error.NotRunning"
#define VIV_ERROR_ALREADY_RUNNING   "org.vivarium1.Error.AlreadyRunning"
#define VIV_ERROR_ACCESS_DENIED     "org.vivarium1.Error.AccessDenied"
#define VIV_ERROR_START_FAILED      "org.vivarium1.Error.StartFailed"
#define VIV_ERROR_CONSOLE_BUSY      "org.vivarium1.Error.ConsoleBusy"
#define VIV_ERROR_NO_CONSOLE        "org.vivarium1.Error.NoConsole"
#define VIV_ERROR_NO_SUCH_PROCESS   "org.vivarium1.Error.NoSuchProcess"

#define VIV_STATE_RUNNING  "running"
#define VIV_STATE_PAUSED   "paused"
#define VIV_STATE_SHUTOFF  "shut off"

#define VIV_XML_INACTIVE    UINT64_C(2)
#define VIV_CONSOLE_FORCE   UINT64_C(1)

/* StartWithFiles: at most this many fds for init (fds 3, 4, ...) */
#define VIV_PASS_FDS_MAX    64

/* ShutdownWithFlags/RebootWithFlags: libvirt's virDomainShutdownFlagValues
 * (and the same bits of virDomainRebootFlagValues); containers support the
 * last two */
#define VIV_SHUTDOWN_ACPI_POWER_BTN UINT64_C(1)
#define VIV_SHUTDOWN_GUEST_AGENT    UINT64_C(2)
#define VIV_SHUTDOWN_INITCTL        UINT64_C(4)
#define VIV_SHUTDOWN_SIGNAL         UINT64_C(8)
#define VIV_SHUTDOWN_PARAVIRT       UINT64_C(16)

#define VIV_HANDSHAKE_GO    "GO"
#define VIV_HANDSHAKE_READY "READY"
#define VIV_HANDSHAKE_INIT  "INIT"    /* INIT <pid>: init is in its cgroups, before READY (machine.c) */
#define VIV_HANDSHAKE_ERROR "ERROR"
