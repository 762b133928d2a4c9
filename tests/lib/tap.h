/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_TESTS_TAP_H
#define VS_TESTS_TAP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A small TAP producer.  Tests print "ok N - name" / "not ok N - name" and
 * end with tap_done(), which prints the plan and returns the exit status.
 * tests/run adds up every program's lines.
 */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);

bool tap_is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* got contains want as a substring. */
bool tap_has_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __VA_ARGS__)
#define has_str(got, want, ...) tap_has_str((got), (want), __VA_ARGS__)

#endif
