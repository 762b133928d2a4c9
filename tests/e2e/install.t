#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make install PREFIX= DESTDIR= puts every piece where it belongs, the
# wrapper symlink and the unit point at the installed binary; make
# uninstall takes it all back (configs excepted).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

if [ ! -x "$VMSEAL" ] || [ ! -f "$E2E_ROOT/man/vmseal.1" ]; then
	skip "vmseal or the man pages are not built" "make install"
	tap_done
	exit
fi
e2e_setup
D=$E2E_TMP/dest
make -s -C "$E2E_ROOT" install DESTDIR="$D" PREFIX=/usr/local BIN="$VMSEAL" \
	>"$E2E_TMP/install.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr/local" || diag "$(cat "$E2E_TMP/install.log")"
for f in usr/local/bin/vmseal usr/local/share/man/man1/vmseal.1 \
	usr/local/share/man/man5/vmseal.ini.5 \
	usr/local/lib/systemd/system/vmseal@.service etc/init.d/vmseal \
	usr/local/share/doc/vmseal/examples/guest.ini \
	usr/local/share/doc/vmseal/examples/wrap.ini \
	usr/local/share/doc/vmseal/README.md; do
	[ -f "$D/$f" ]
	ok $? "installed: /$f"
done
[ -x "$D/usr/local/bin/vmseal" ] && [ -x "$D/etc/init.d/vmseal" ]
ok $? "binary and init script are executable"
[ "$(readlink "$D/usr/local/libexec/vmseal/qemu-system-x86_64")" = /usr/local/bin/vmseal ]
ok $? "wrapper symlink /usr/local/libexec/vmseal/qemu-system-x86_64 -> /usr/local/bin/vmseal"
grep -q '^ExecStart=/usr/local/bin/vmseal run /etc/vmseal/%i.ini$' "$D/usr/local/lib/systemd/system/vmseal@.service" &&
	grep -q '^VMSEAL=${VMSEAL:-/usr/local/bin/vmseal}$' "$D/etc/init.d/vmseal" &&
	! grep -q '@BINDIR@' "$D/usr/local/lib/systemd/system/vmseal@.service" "$D/etc/init.d/vmseal"
ok $? "unit and init script name the installed binary"
"$D/usr/local/bin/vmseal" --version | grep -q '^vmseal '
ok $? "the installed binary runs"
mkdir -p "$D/etc/vmseal" && touch "$D/etc/vmseal/mine.ini"
make -s -C "$E2E_ROOT" uninstall DESTDIR="$D" PREFIX=/usr/local >"$E2E_TMP/uninstall.log" 2>&1
ok $? "make uninstall"
left=$(cd "$D" && find . -type f -o -type l | grep -v '^./etc/vmseal/mine.ini$')
[ -z "$left" ] && [ -f "$D/etc/vmseal/mine.ini" ]
ok $? "everything removed but the admin's configs" || diag "$left"

tap_done
