/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_ESCAPE_H
#define VS_COMMON_ESCAPE_H

#include <stddef.h>

/*
 * Escaping for strings that come from the emulator or an image (paths,
 * backing names, node names) before they reach a log line, syslog or
 * JSON: nothing such a string holds can end the line, move the cursor,
 * change colours or pass for text vmseal wrote.
 *
 *   backslash          \\
 *   newline, CR, tab   \n \r \t
 *   other C0, DEL      \xNN
 *   bytes that are not well-formed UTF-8 (stray continuation bytes,
 *   overlong forms, surrogates, > U+10FFFF, truncated sequences)
 *                      \xNN, each byte
 *   well-formed UTF-8 that a terminal acts on or that reorders text:
 *   C1 controls U+0080-U+009F, U+2028/U+2029, the bidi controls
 *   U+200E/U+200F, U+202A-U+202E, U+2066-U+2069
 *                      \xNN, each byte
 * Everything else, printable ASCII and other UTF-8, passes unchanged, so
 * an ordinary path reads the same escaped or not.  The result is always
 * plain text that names the original bytes unambiguously.
 */

/*
 * Escapes len bytes of s into out (size outsz > 0), always NUL-terminated;
 * when out is too small the result ends on a whole escape followed by
 * "...".  Returns out.
 */
char *vs_escape_n(const char *s, size_t len, char *out, size_t outsz);

/* Same for a NUL-terminated string (NULL escapes as "(null)"). */
char *vs_escape(const char *s, char *out, size_t outsz);

/* A freshly allocated escaped copy (xalloc: never NULL). */
char *vs_escape_dup(const char *s);

/*
 * For a name quoted in an error message ('%s'): printable ASCII but
 * the quote and the backslash as is, every other byte as \xNN, so the
 * message stays ASCII whatever the header held.  Always NUL-terminated;
 * when dst is too small the result ends in "...".  Returns dst.
 */
const char *vs_quote_ascii(char *dst, size_t size, const char *src);

/* The size an escaped copy of len bytes can need at most, NUL included. */
#define VS_ESCAPE_SIZE(len) ((len) * 4 + 1)

#endif
