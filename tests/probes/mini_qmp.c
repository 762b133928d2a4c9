/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal stand-in emulator that needs no open after exec (static, for
 * policy = deny): reads the first bytes of every descriptor its -add-fd
 * arguments name, listens on the unix socket of its -qmp argument (bind
 * creates it: no open), and answers QMP: the greeting, then
 * {"return": {}} to every command, until "quit".  The benchmark times
 * `vmseal run` of it against a bare exec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = NULL;
	char buf[4096];
	int ls, c;
	FILE *f;

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "-add-fd") && !strncmp(argv[i + 1], "fd=", 3))
			(void)!pread(atoi(argv[i + 1] + 3), buf, 512, 0);
		if (!strcmp(argv[i], "-qmp") && !strncmp(argv[i + 1], "unix:", 5))
			path = argv[i + 1] + 5;
	}
	if (!path)
		return 2;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s",
		 (int)strcspn(path, ","), path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 1) < 0)
		return 1;
	c = accept(ls, NULL, NULL);
	if (c < 0)
		return 1;
	f = fdopen(c, "r+");
	fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", f);
	fflush(f);
	while (fgets(buf, sizeof(buf), f)) {
		fputs("{\"return\": {}}\n", f);
		fflush(f);
		if (strstr(buf, "\"quit\""))
			break;
	}
	fclose(f);
	/* The socket file: gone with the guest, as QEMU's would be.  Under
	 * deny the unlink is refused: the caller removes it. */
	(void)!unlink(sa.sun_path);
	return 0;
}
