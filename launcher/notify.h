/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_NOTIFY_H
#define VS_LAUNCHER_NOTIFY_H

/*
 * The service manager's readiness protocol (sd_notify(3)) spoken without
 * libsystemd: one datagram to $NOTIFY_SOCKET.  Does nothing when vmseal
 * was not started by one.  0, or -errno.
 */
int notify_manager(const char *state);

#endif
