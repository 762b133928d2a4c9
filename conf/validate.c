/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/format.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "conf/internal.h"

/* Spelled out rather than <ctype.h>: the locale must not widen the sets. */
static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c);
}

/* [A-Za-z0-9][A-Za-z0-9_.-]{0,63}: safe in file names and QMP paths. */
bool conf_guest_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* [a-z][a-z0-9_-]{0,30}: QEMU node names must start with a letter. */
bool conf_disk_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > VS_DISK_NAME_MAX || !is_lower(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && !strchr("_-", s[i]))
			return false;
	return true;
}

/*
 * [a-z][a-z0-9_.-]*: a QEMU device driver name, and nothing that could
 * smuggle a property (',') or a second option into -device.
 */
bool conf_device_ok(const char *s)
{
	if (!is_lower(s[0]))
		return false;
	for (size_t i = 1; s[i]; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

int conf_bool(struct ini_reader *r, const char *key, const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return ini_fail(r, r->line,
			"'%s' must be yes or no (or true/false, on/off, 1/0), not '%s'",
			key, s);
}

int conf_allow(struct ini_reader *r, const char *key, const char *s,
	       bool *out)
{
	if (strcmp(s, "allow") == 0 || strcmp(s, "deny") == 0) {
		*out = s[0] == 'a';
		return 0;
	}
	return ini_fail(r, r->line, "'%s' must be allow or deny, not '%s'",
			key, s);
}

/* Decimal digits only: no sign, no blanks, no 0x, nothing strtoul forgives. */
int conf_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

bool conf_context_ok(const char *s)
{
	const char *p = s;

	if (strlen(s) > VS_CONTEXT_MAX)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	/* user, role and type: non-empty, then a non-empty level. */
	p = s;
	for (int field = 0; field < 3; field++) {
		const char *colon = strchr(p, ':');

		if (!colon || colon == p)
			return false;
		p = colon + 1;
	}
	return *p != '\0' && *p != ':';
}

int conf_path(struct ini_reader *r, const char *key, const char *s)
{
	if (s[0] != '/')
		return ini_fail(r, r->line, "'%s' must be an absolute path",
				key);
	/*
	 * A newline can only get here through a bug upstream, but a path
	 * with one would forge lines in anything that logs it.
	 */
	if (has_control(s))
		return ini_fail(r, r->line,
				"'%s' must not contain a newline or other control character",
				key);
	return 0;
}

static int check_elem(struct ini_reader *r, const char *key,
		      const char *elem)
{
	if (!*elem)
		return ini_fail(r, r->line,
				"'%s' has an empty element (\"a::b\", or ':' at an end)",
				key);
	if (elem[0] != '/')
		return ini_fail(r, r->line,
				"'%s' element '%s' must be an absolute path",
				key, elem);
	if (has_control(elem))
		return ini_fail(r, r->line,
				"'%s' must not contain a newline or other control character",
				key);
	return 0;
}

bool conf_id_ok(const char *s)
{
	bool digits = true;

	if (!*s || strlen(s) > 32)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			digits = false;
	}
	if (digits)
		return true;
	if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (const char *p = s; *p; p++) {
		if (!(*p == '_' || *p == '-' || *p == '.' ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	}
	return true;
}

int conf_id_list(struct ini_reader *r, const char *key, const char *s,
		 char ***out, size_t *n)
{
	struct strv v = STRV_INIT;

	for (const char *p = s;; p++) {
		const char *comma = strchrnul(p, ',');
		char *elem = xstrndup(p, (size_t)(comma - p));
		char *t = elem + strspn(elem, " \t");

		t[strcspn(t, " \t")] = '\0';
		if (!conf_id_ok(t)) {
			ini_fail(r, r->line,
				 "'%s': '%s' is not a name or a number", key, t);
			free(elem);
			strv_free(&v);
			return -EINVAL;
		}
		strv_push(&v, t);
		free(elem);
		if (!*comma)
			break;
		p = comma;
	}
	*n = v.n;
	*out = strv_steal(&v);
	return 0;
}

int conf_path_list(struct ini_reader *r, const char *key, const char *s,
		   char ***out, size_t *n)
{
	struct strv v = STRV_INIT;

	for (const char *p = s;; p++) {
		const char *colon = strchrnul(p, ':');
		char *elem = xstrndup(p, (size_t)(colon - p));

		if (check_elem(r, key, elem) < 0) {
			free(elem);
			strv_free(&v);
			return -EINVAL;
		}
		strv_push_take(&v, elem);
		if (!*colon)
			break;
		p = colon;
	}
	*n = v.n;
	*out = strv_steal(&v);
	return 0;
}

/* The usual choice, qcow2, first; then the others in their enum order. */
const char *conf_format_list(char *buf, size_t len)
{
	int n = 0, i = 0;
	size_t used = 0;

	while (strcmp(vs_format_name((enum vs_format)(n + 1)), "?") != 0)
		n++;
	buf[0] = '\0';
	for (int f = VS_FMT_QCOW2; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s",
				 i == 0 ? "" : i == n - 1 ? " or " : ", ",
				 vs_format_name((enum vs_format)f));

		if (w < 0)
			break;
		used += (size_t)w;
		/* qcow2, then 1, 2, ... skipping qcow2 */
		f = i == 0 ? VS_FMT_NONE + 1 : f + 1;
		if (f == VS_FMT_QCOW2)
			f++;
	}
	return buf;
}

int conf_validate(struct ini_reader *r, const struct guest_config *cfg,
		  const struct conf_where *w)
{
	char list[128];

	if (!w->version)
		return ini_fail(r, 0, "missing 'version' in [vmseal]");
	if (!w->name && !conf_guest_name_ok(cfg->name))
		return ini_fail(r, 0,
				"guest name '%s' taken from the file name does not match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}: set 'name' in [vmseal]",
				cfg->name);
	if (w->share_user && !cfg->user)
		return ini_fail(r, w->share_user,
				"'share-user = yes' needs 'user' in [sandbox]: a uid vmseal allocates is never shared");
	if (w->initrd && !cfg->kernel)
		return ini_fail(r, w->initrd,
				"'initrd' needs 'kernel' in [emulator]");
	if (w->append && !cfg->kernel)
		return ini_fail(r, w->append,
				"'append' needs 'kernel' in [emulator]");
	if (w->sandbox_arg && cfg->qemu_sandbox && config_emulator_is_qemu(cfg))
		return ini_fail(r, w->sandbox_arg,
				"'args' has -sandbox, and vmseal adds its own (qemu-sandbox = yes): set qemu-sandbox = no in [sandbox] to manage QEMU's sandbox yourself");
	for (size_t i = 0; i < cfg->n_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (!d->image)
			return ini_fail(r, d->line,
					"missing 'image' in [disk %s]",
					d->name);
		if (d->format == VS_FMT_NONE)
			return ini_fail(r, d->line,
					"format is required for [disk %s] (%s): vmseal never probes",
					d->name,
					conf_format_list(list, sizeof(list)));
		if (d->copy_on_read && d->readonly)
			return ini_fail(r, d->line,
					"[disk %s]: copy-on-read writes what it reads into the top image, which readonly = yes forbids",
					d->name);
	}
	return 0;
}
