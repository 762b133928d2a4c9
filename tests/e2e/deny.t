#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# policy = deny and policy = kill, with a statically linked stand-in
# emulator (tests/probes/fd_reader.c: under deny even the dynamic loader's
# opens fail): it inherits exactly the chain's descriptors, reads them,
# and its open() fails with EACCES (deny) or kills it (kill).  A probe
# attacks what a deny jail still shows (stat, exec, connect by path), and
# a dynamically linked emulator is refused before anything starts.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

READER=$E2E_BUILD/tests/probes/fd_reader
PROBE=$E2E_BUILD/tests/probes/jail_probe
missing=$(e2e_missing qemu-img qemu-io "$VMSEAL" "$READER" "$PROBE")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "deny e2e"
	tap_done
	exit
fi
e2e_setup
guest_chain "$E2E_TMP/images"
ok $? "chain created"
echo secret >"$E2E_TMP/other"

# write_ini POLICY DIALECT
write_ini() {
	cat >"$E2E_TMP/guest.ini" <<-INI
	[vmseal]
	version = 1
	[emulator]
	binary = $READER
	dialect = $2
	args = --fds --open $E2E_TMP/other --open $E2E_TMP/images/base.qcow2
	[sandbox]
	policy = $1
	user = $E2E_USER
	[disk root]
	image = $E2E_TMP/images/top.qcow2
	format = qcow2
	device = none
	INI
}

for dialect in fdset drive-fd; do
	write_ini deny "$dialect"
	# fd 7 and 9 are open in vmseal: the emulator must not get them.
	"$VMSEAL" run "$E2E_TMP/guest.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err" \
		7<"$E2E_TMP/other" 9>"$E2E_TMP/err9"
	rc=$?
	ok $rc "deny/$dialect: vmseal exits with the stand-in's status 0" ||
		diag "$(cat "$E2E_TMP/err")"
	grep -qx 'fds: 0 1 2 3 4 5' "$E2E_TMP/out"
	ok $? "deny/$dialect: exactly fds 0-2 and the three images, none close-on-exec" ||
		diag "$(grep fds: "$E2E_TMP/out")"
	[ "$(grep -c '^fd [345]: read 512 bytes, magic QFI$' "$E2E_TMP/out")" -ge 3 ]
	ok $? "deny/$dialect: every passed image reads as qcow2" ||
		diag "$(cat "$E2E_TMP/out")"
	grep -qx "open $E2E_TMP/other: EACCES" "$E2E_TMP/out" &&
		grep -qx "open $E2E_TMP/images/base.qcow2: EACCES" "$E2E_TMP/out"
	ok $? "deny/$dialect: open() fails with EACCES" || diag "$(cat "$E2E_TMP/out")"
done

# What a deny emulator can still do by path (stat, exec, connect): its
# jail holds nothing to do it to, only /proc and its runtime directory
# (with the broker it holds /usr, the allowlist and devices).
if [ "$(id -u)" = 0 ]; then
	ldconfig=$(command -v ldconfig || echo /usr/sbin/ldconfig)
	cat >"$E2E_TMP/view.ini" <<-INI
	[vmseal]
	version = 1
	name = deny-view
	[emulator]
	binary = $PROBE
	args = stat /usr stat /dev/null stat /etc/ld.so.cache stat $(e2e_run_dir deny-view) stat /proc/self exec $ldconfig
	[sandbox]
	policy = deny
	user = $E2E_USER
	INI
	"$VMSEAL" check "$E2E_TMP/view.ini" >"$E2E_TMP/check" 2>&1
	grep -q '^jail: on: .*root of the emulator binary, the runtime directory and its own /proc, nothing else (policy deny' "$E2E_TMP/check"
	ok $? "deny: vmseal check says what the jail holds" || diag "$(cat "$E2E_TMP/check")"
	"$VMSEAL" run "$E2E_TMP/view.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
	ok $? "deny: the probe ran in the jail" || diag "$(cat "$E2E_TMP/err")"
	for p in /usr /dev/null /etc/ld.so.cache; do
		grep -qx "stat $p: ENOENT" "$E2E_TMP/out"
		ok $? "deny: the jail does not show $p" || diag "$(cat "$E2E_TMP/out")"
	done
	grep -qx "exec $ldconfig: ENOENT" "$E2E_TMP/out"
	ok $? "deny: a static program of the host cannot be executed" ||
		diag "$(cat "$E2E_TMP/out")"
	grep -qx "stat $(e2e_run_dir deny-view): OK" "$E2E_TMP/out" &&
		grep -qx "stat /proc/self: OK" "$E2E_TMP/out"
	ok $? "deny: its runtime directory and /proc are there" ||
		diag "$(cat "$E2E_TMP/out")"
	# Named through a link elsewhere: bound at that path too.
	mkdir -p "$E2E_TMP/links"
	ln -s "$PROBE" "$E2E_TMP/links/emu"
	sed "s#^binary = .*#binary = $E2E_TMP/links/emu#" "$E2E_TMP/view.ini" >"$E2E_TMP/link.ini"
	"$VMSEAL" run "$E2E_TMP/link.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
	rc=$?
	[ "$rc" = 0 ] && grep -qx "stat /usr: ENOENT" "$E2E_TMP/out"
	ok $? "deny: an emulator named through a link outside the jail runs" ||
		diag "status $rc" "$(cat "$E2E_TMP/err")"
else
	skip "the jail needs vmseal to run as root" "deny view"
fi

# A dynamically linked emulator: its loader could open nothing (and is
# not in the jail); refused before anything starts, saying so.
sed "s#^binary = .*#binary = $(type -P true)#" "$E2E_TMP/guest.ini" >"$E2E_TMP/dyn.ini"
for cmd in check run; do
	"$VMSEAL" "$cmd" "$E2E_TMP/dyn.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
	rc=$?
	[ "$rc" = 126 ] && grep -q 'needs /.*ld-.* to run, which policy = deny cannot open: it needs a statically linked emulator' "$E2E_TMP/err"
	ok $? "deny: vmseal $cmd refuses a dynamically linked emulator (126), naming its loader" ||
		diag "status $rc" "$(cat "$E2E_TMP/err")"
done
"$VMSEAL" argv "$E2E_TMP/dyn.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
ok $? "deny: vmseal argv still prints the command line it would refuse to run" ||
	diag "$(cat "$E2E_TMP/err")"
printf '[vmseal]\nversion = 1\nname = dyn\n[sandbox]\npolicy = kill\n' >"$E2E_TMP/wrap.ini"
"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$(type -P true)" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 126 ] && grep -q 'which policy = kill cannot open: it needs a statically linked emulator' "$E2E_TMP/err"
ok $? "kill: vmseal wrap refuses it too" || diag "status $rc" "$(cat "$E2E_TMP/err")"

write_ini kill fdset
"$VMSEAL" run "$E2E_TMP/guest.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 159 ]
ok $? "kill: the first open() kills the stand-in (exit 128+SIGSYS = 159)" ||
	diag "status $rc" "$(cat "$E2E_TMP/out" "$E2E_TMP/err")"
grep -q '^fd 3: read 512 bytes, magic QFI$' "$E2E_TMP/out" &&
	! grep -q '^open ' "$E2E_TMP/out"
ok $? "kill: reads worked, no open returned"

tap_done
