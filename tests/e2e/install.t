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
grep -q "note: outside PREFIX=/usr/local: /etc/init.d/vmseal and /etc/vmseal" "$E2E_TMP/install.log"
ok $? "make install says what it puts outside PREFIX" || diag "$(cat "$E2E_TMP/install.log")"

# Every file the FILES sections name that make install puts there exists,
# at the path the installed page gives (PREFIX=/usr/local, not /usr).
files_paths() { # MANPAGE: the .It Pa PATH items of its FILES section
	sed -n '/^\.Sh FILES/,/^\.Sh /s/^\.It Pa \(\/[^ ]*\)$/\1/p' "$1"
}
{
	files_paths "$D/usr/local/share/man/man1/vmseal.1"
	files_paths "$D/usr/local/share/man/man5/vmseal.ini.5"
} | sort -u >"$E2E_TMP/files"
grep -E '^(/usr/local/|/etc/init\.d/)' "$E2E_TMP/files" >"$E2E_TMP/installed"
missing=
while read -r p; do
	[ -e "$D$p" ] || [ -L "$D$p" ] || missing="$missing $p"
done <"$E2E_TMP/installed"
[ -s "$E2E_TMP/installed" ] && [ -z "$missing" ] &&
	! grep -q '^/usr/libexec\|^/usr/bin/vmseal\|^/usr/lib/systemd' "$E2E_TMP/files" &&
	grep -qx /usr/local/libexec/vmseal/qemu-system-x86_64 "$E2E_TMP/installed" &&
	grep -qx /usr/local/lib/systemd/system/vmseal@.service "$E2E_TMP/installed"
ok $? "every installed path the man pages' FILES name exists ($(wc -l <"$E2E_TMP/installed") paths)" ||
	diag "missing:$missing" "$(cat "$E2E_TMP/files")"

# The installed unit passes systemd-analyze verify: installed for real
# beneath the temp dir, so the binary it names exists.
if command -v systemd-analyze >/dev/null; then
	P=$E2E_TMP/prefix
	make -s -C "$E2E_ROOT" install PREFIX="$P" SYSCONFDIR="$E2E_TMP/etc" BIN="$VMSEAL" \
		>"$E2E_TMP/install2.log" 2>&1
	SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		"$P/lib/systemd/system/vmseal@.service" >"$E2E_TMP/verify" 2>&1
	rc=$?
	[ $rc = 0 ] && ! grep -qi 'vmseal@' "$E2E_TMP/verify" &&
		grep -q "^ExecStart=$P/bin/vmseal run $E2E_TMP/etc/vmseal/%i.ini$" "$P/lib/systemd/system/vmseal@.service" &&
		grep -q "^VMSEAL_CONF_DIR=\${VMSEAL_CONF_DIR:-$E2E_TMP/etc/vmseal}$" "$E2E_TMP/etc/init.d/vmseal"
	ok $? "systemd-analyze verify of the installed unit; unit and script name SYSCONFDIR's configs" ||
		diag "$(cat "$E2E_TMP/verify" "$E2E_TMP/install2.log")"
else
	skip "systemd-analyze is not installed" "systemd-analyze verify of the installed unit"
fi
mkdir -p "$D/etc/vmseal" && touch "$D/etc/vmseal/mine.ini"
make -s -C "$E2E_ROOT" uninstall DESTDIR="$D" PREFIX=/usr/local >"$E2E_TMP/uninstall.log" 2>&1
ok $? "make uninstall"
left=$(cd "$D" && find . -type f -o -type l | grep -v '^./etc/vmseal/mine.ini$')
[ -z "$left" ] && [ -f "$D/etc/vmseal/mine.ini" ]
ok $? "everything removed but the admin's configs" || diag "$left"
[ ! -e "$D/usr/local/lib/systemd/system" ] && [ ! -e "$D/usr/local/libexec/vmseal" ]
ok $? "make uninstall removes the unit and libexec directories it made" ||
	diag "$(cd "$D" && find . -type d)"

tap_done
