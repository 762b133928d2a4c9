/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/tap.h"

static unsigned n_tests, n_failed;

static bool __attribute__((format(printf, 2, 0)))
report(bool cond, const char *fmt, va_list ap)
{
	n_tests++;
	if (!cond)
		n_failed++;
	printf("%sok %u - ", cond ? "" : "not ", n_tests);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	return cond;
}

void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	n_tests++;
	printf("ok %u - ", n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int tap_done(void)
{
	printf("1..%u\n", n_tests);
	return n_failed ? 1 : 0;
}

bool tap_is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("got %lld, want %lld", got, want);
	return r;
}

bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(got && want ? strcmp(got, want) == 0 : got == want, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("got '%s', want '%s'", got ? got : "(null)",
			 want ? want : "(null)");
	return r;
}

bool tap_has_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(got && want && strstr(got, want), fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("'%s' does not contain '%s'", got ? got : "(null)",
			 want ? want : "(null)");
	return r;
}
