#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Denial logs cannot be forged and do not stop silently: a static
# stand-in (tests/probes/deny_spam.c) under the broker opens a path with a
# newline, ANSI codes and a non-UTF-8 byte that spells a fake
# "vmseal: broker locked" line, then 600 more distinct paths.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

SPAM=$E2E_BUILD/tests/probes/deny_spam
missing=$(e2e_missing qemu-img "$VMSEAL" "$SPAM")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "denials e2e"
	tap_done
	exit
fi
e2e_setup
qemu-img create -q -f raw "$E2E_TMP/disk.raw" 1M
ok $? "image created"
cat >"$E2E_TMP/guest.ini" <<INI
[vmseal]
version = 1
[emulator]
binary = $SPAM
dialect = fdset
args = --forge --many 600
[sandbox]
policy = broker
user = $E2E_USER
[disk root]
image = $E2E_TMP/disk.raw
format = raw
device = none
INI
"$VMSEAL" run "$E2E_TMP/guest.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
ok $? "the stand-in ran and every open was refused" || diag "$(tail -5 "$E2E_TMP/err")"

! grep -q '^vmseal: broker locked' "$E2E_TMP/err"
ok $? "no forged 'vmseal: broker locked' line" ||
	diag "$(grep -n 'broker locked' "$E2E_TMP/err")"
grep -qF 'denied open /nonexistent-vmseal-forge\nvmseal: broker locked on request: FAKE\x1b[2K\r\x1b[31mred\xff (' "$E2E_TMP/err"
ok $? "the path is shown escaped on the denial's own line" ||
	diag "$(grep -n 'forge' "$E2E_TMP/err")"
! grep -q $'\x1b' "$E2E_TMP/err"
ok $? "no escape byte reaches the log"
! LC_ALL=C grep -q $'\xff' "$E2E_TMP/err"
ok $? "no byte that is not UTF-8 reaches the log"
shown=$(grep -c '^vmseal: denied open /nonexistent-vmseal-many/' "$E2E_TMP/err")
[ "$shown" = 511 ]
ok $? "the first 512 distinct paths are shown (the forged one and 511 more): $shown"
grep -q '^vmseal: more than 512 paths denied; further denials are not shown' "$E2E_TMP/err"
ok $? "the log says when it stops showing denials"
grep -qx 'vmseal: 89 denials not shown (after the first 512 distinct paths); 601 denied in all' "$E2E_TMP/err"
ok $? "at exit it says how many it did not show" || diag "$(tail -3 "$E2E_TMP/err")"

tap_done
