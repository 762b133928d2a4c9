/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common/escape.c: no string from the emulator can forge a log line. */
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "tests/lib/tap.h"

static const char *esc(const char *s, size_t len)
{
	static char buf[512];

	return vs_escape_n(s, len, buf, sizeof(buf));
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

int main(void)
{
	char small[12];
	char *d;

	is_str(ESC("/usr/lib/x86_64-linux-gnu/libc.so.6"),
	       "/usr/lib/x86_64-linux-gnu/libc.so.6", "an ordinary path is unchanged");
	is_str(ESC("/img/été/日本.qcow2"), "/img/été/日本.qcow2",
	       "well-formed UTF-8 is unchanged");
	is_str(ESC("/x\n" "vmseal: broker locked on request: FAKE"),
	       "/x\\nvmseal: broker locked on request: FAKE",
	       "a newline cannot start a line of its own");
	is_str(ESC("\x1b[2K\r\x1b[31mred"), "\\x1b[2K\\r\\x1b[31mred",
	       "ESC and CR are escaped (no cursor moves, no colours)");
	is_str(ESC("a\\x41"), "a\\\\x41", "a backslash is doubled: escapes are unambiguous");
	is_str(ESC("t\tb\x01\x7f"), "t\\tb\\x01\\x7f", "tab, other C0 and DEL");
	is_str(ESC("a\0b"), "a\\x00b", "an embedded NUL (with a length)");
	is_str(ESC("\xff\xfe"), "\\xff\\xfe", "bytes that are never UTF-8");
	is_str(ESC("\xc3"), "\\xc3", "a truncated sequence");
	is_str(ESC("\x80" "a"), "\\x80a", "a stray continuation byte");
	is_str(ESC("\xc0\xaf"), "\\xc0\\xaf", "an overlong '/'");
	is_str(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80", "a surrogate");
	is_str(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80", "above U+10FFFF");
	is_str(ESC("\xc2\x9b" "2J"), "\\xc2\\x9b2J", "a C1 CSI (U+009B) is escaped");
	is_str(ESC("a\xe2\x80\xae" "gpj.exe"), "a\\xe2\\x80\\xaegpj.exe",
	       "a bidi override (U+202E) is escaped");
	is_str(ESC("a\xe2\x80\xa8" "b"), "a\\xe2\\x80\\xa8b",
	       "a line separator (U+2028) is escaped");

	vs_escape("abcdefghijklmnop", small, sizeof(small));
	is_str(small, "abcdefgh...", "a cut ends in ... within the buffer");
	vs_escape("abcdefg\n\n\n\n", small, sizeof(small));
	is_str(small, "abcdefg...", "a cut never splits an escape");
	vs_escape("\x1b\x1b\x1b\x1b", small, sizeof(small));
	is_str(small, "\\x1b\\x1b...", "a cut of byte escapes stays whole");
	vs_escape("ab", small, 3);
	is_str(small, "ab", "exactly fitting");
	vs_escape("abc", small, 3);
	is_str(small, "", "no room even for ...: empty rather than half");
	vs_escape(NULL, small, sizeof(small));
	is_str(small, "(null)", "NULL");

	d = vs_escape_dup("\n\xff");
	is_str(d, "\\n\\xff", "vs_escape_dup");
	free(d);
	{
		/* The worst case fits VS_ESCAPE_SIZE exactly. */
		char in[64], out[VS_ESCAPE_SIZE(64)];

		memset(in, 0xff, sizeof(in));
		vs_escape_n(in, sizeof(in), out, sizeof(out));
		is_int(strlen(out), 256, "VS_ESCAPE_SIZE holds the worst case");
	}
	{
		char q[16];

		is_str(vs_quote_ascii(q, sizeof(q), "/a/b.qcow2"), "/a/b.qcow2",
		       "quote: plain ASCII unchanged");
		is_str(vs_quote_ascii(q, sizeof(q), "it's\\"), "it\\x27s\\x5c",
		       "quote: the quote and the backslash as \\xNN");
		is_str(vs_quote_ascii(q, sizeof(q), "\xc3\xa9\n"), "\\xc3\\xa9\\x0a",
		       "quote: UTF-8 and controls as \\xNN: the message stays ASCII");
		is_str(vs_quote_ascii(q, sizeof(q), "0123456789abcdefghij"),
		       "0123456789ab...", "quote: cut with ... when too long");
	}
	return tap_done();
}
