/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CONF_INTERNAL_H
#define VS_CONF_INTERNAL_H

/*
 * Private to conf/: the line reader that stands between the config text and
 * inih, and the value checks shared by the key handlers.
 */

#include <ini.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/strv.h"
#include "conf/config.h"

/* Longest line we accept, line terminator ("\n" or "\r\n") excluded. */
#define INI_LINE_MAX 4095
/*
 * inih r55 copies a section name into a 50-byte array with strncpy and
 * says nothing when it cuts; a longer name must never reach it.
 */
#define INI_SECTION_MAX 49
#define INI_KEY_MAX 64

/* Called by the reader for each "[name]" header, before inih sees it. */
typedef int (*ini_section_fn)(void *user, const char *name, unsigned line);

/*
 * inih reads into a 200-byte buffer and parses the tail of a longer line
 * as a line of its own.  So inih never gets our lines: for each physical
 * line the reader hands it a short stand-in ("key=@LINE", "[name]", or
 * nothing for comments and blank lines) and keeps the real value here,
 * where the key handler collects it with ini_reader_take().  One reader
 * call is one physical line, so inih's line numbers are the real ones.
 */
struct ini_reader {
	const char *file;	/* name for messages */
	const char *buf;
	size_t len;
	size_t pos;
	unsigned line;		/* physical line last read, 1-based */

	struct vs_err *err;
	bool failed;		/* err holds the first error */
	unsigned fail_line;	/* its line, 0 when none applies */

	ini_section_fn on_section;
	void *user;
	char section[INI_SECTION_MAX + 1];

	/* The key line handed to inih whose handler call is still due. */
	bool pending;
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};

void ini_reader_init(struct ini_reader *r, const char *file, const char *buf,
		     size_t len, struct vs_err *err, ini_section_fn on_section,
		     void *user);

/*
 * Runs inih over the buffer.  0, or -EINVAL with err holding the error on
 * the lowest line, whether the reader, a handler or inih found it.
 */
int ini_reader_run(struct ini_reader *r, ini_handler handler, void *user);

/*
 * For the key handler: checks that inih's call matches the line the reader
 * handed over and returns the real value, inline comment removed and
 * blanks trimmed, as a new string.  NULL (error recorded) on a mismatch.
 */
char *ini_reader_take(struct ini_reader *r, const char *section,
		      const char *name, const char *value);

/*
 * Records an error at line (0: the file as a whole) unless one is already
 * recorded: only the first error is reported.  Returns -EINVAL.
 */
int ini_fail(struct ini_reader *r, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Value checks; the failing ones record an error at the current line. */
bool conf_guest_name_ok(const char *s);
bool conf_disk_name_ok(const char *s);
bool conf_device_ok(const char *s);
int conf_bool(struct ini_reader *r, const char *key, const char *s, bool *out);
/* "allow" or "deny", nothing else. */
int conf_allow(struct ini_reader *r, const char *key, const char *s,
	       bool *out);
int conf_uint(const char *s, unsigned max, unsigned *out);
int conf_path(struct ini_reader *r, const char *key, const char *s);
int conf_path_list(struct ini_reader *r, const char *key, const char *s,
		   char ***out, size_t *n);
/* A user, group or capability name, or a number. */
bool conf_id_ok(const char *s);
/* A comma-separated list of conf_id_ok() words (blanks around them ok). */
int conf_id_list(struct ini_reader *r, const char *key, const char *s,
		 char ***out, size_t *n);
/*
 * An SELinux context's shape only (user:role:type:level, nothing empty, no
 * blank or control character): whether the policy knows it is for the
 * kernel to say, on a host that may not be this one.
 */
bool conf_context_ok(const char *s);
/* "qcow2 or raw": the formats a disk may name. */
const char *conf_format_list(char *buf, size_t len);

/* Lines where keys were set, for the checks that span keys. */
struct conf_where {
	unsigned version;
	unsigned name;
	unsigned initrd;
	unsigned append;
	unsigned sandbox_arg;	/* first args line with a -sandbox word */
	unsigned share_user;	/* share-user = yes */
	unsigned uid_range;
};

/* Rules across keys and required keys, once the whole file is read. */
int conf_validate(struct ini_reader *r, const struct guest_config *cfg,
		  const struct conf_where *w);

#endif
