#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Backing references are pinned (the chain record).  The attack first: a
# hostile emulator (tests/probes/repoint.c, static, policy = deny)
# rewrites the header of its own writable top, through the descriptor it
# was given, so that it names a sibling image in the same directory
# (another guest's disk, root 0600).  The next `check` and `run` refuse
# with 66, naming the member, the old and the new reference and how to
# approve; the sibling never reaches the emulator.  Then the accept flow,
# and a member that is another running guest's writable top.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

PROBE=$E2E_BUILD/tests/probes/repoint
missing=$(e2e_missing qemu-img qemu-io "$VMSEAL" "$PROBE")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "pin e2e"
	tap_done
	exit
fi
e2e_setup
D=$E2E_TMP/img
mkdir -p "$D"
(
	cd "$D" || exit 1
	qemu-img create -q -f qcow2 base.qcow2 4M &&
		qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 a.qcow2 4M &&
		qemu-img create -q -f qcow2 b.qcow2 4M &&
		qemu-io -f qcow2 -c 'write -P 0x42 0 64k' b.qcow2 >/dev/null &&
		chmod 600 b.qcow2
) || exit 1
B_INO=$(stat -c %i "$D/b.qcow2")
BASE_INO=$(stat -c %i "$D/base.qcow2")

# ini NAME TOP ARGS...: a guest config with the probe as its emulator.
ini() {
	local name=$1 top=$2
	shift 2
	cat >"$E2E_TMP/$name.ini" <<-INI
	[vmseal]
	version = 1
	name = $name
	[emulator]
	binary = $PROBE
	args = $*
	[sandbox]
	policy = deny
	[chain]
	roots = $D
	[disk root]
	image = $top
	format = qcow2
	device = none
	INI
	echo "$E2E_TMP/$name.ini"
}

A=$(ini ga "$D/a.qcow2" --repoint b.qcow2)
"$VMSEAL" run "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
ok $? "first launch runs (no record: the chain is recorded)" ||
	diag "$(cat "$E2E_TMP/err")"
grep -q "^fd [0-9]*: ro ino $BASE_INO\$" "$E2E_TMP/out"
ok $? "the emulator holds base.qcow2" || diag "$(cat "$E2E_TMP/out")"
grep -q '^repointed fd [0-9]* to b.qcow2$' "$E2E_TMP/out"
ok $? "attack: the emulator rewrote its top's backing name to b.qcow2" ||
	diag "$(cat "$E2E_TMP/out")"
qemu-img info --output=json "$D/a.qcow2" | grep -q '"backing-filename": "b.qcow2"'
ok $? "attack: a.qcow2's header now names b.qcow2 (qemu-img agrees)"

A=$(ini ga "$D/a.qcow2" --show)
"$VMSEAL" check "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 66 ]
ok $? "check after the attack: refused with 66" ||
	diag "status $rc" "$(cat "$E2E_TMP/out" "$E2E_TMP/err")"
msg=$(cat "$E2E_TMP/err")
[[ $msg == *"$D/a.qcow2"* && $msg == *"'base.qcow2' (qcow2)"* &&
	$msg == *"'b.qcow2' (qcow2)"* && $msg == *"vmseal chain --accept $A"* ]]
ok $? "check names the member, the old and new reference and the accept command" ||
	diag "$msg"

"$VMSEAL" run "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 66 ]
ok $? "run after the attack: refused with 66" ||
	diag "status $rc" "$(cat "$E2E_TMP/err")"
! grep -q "ino $B_INO\$" "$E2E_TMP/out"
ok $? "the sibling's image (b.qcow2) never reached the emulator" ||
	diag "$(cat "$E2E_TMP/out")"
grep -q "backing reference changed" "$E2E_TMP/err"
ok $? "run says why" || diag "$(cat "$E2E_TMP/err")"


# Another running guest's writable top is never accepted into a chain:
# gb runs with b.qcow2 as its top; a.qcow2 (which names it now) cannot be
# accepted, and gc, whose base is b.qcow2, cannot start.
B=$(ini gb "$D/b.qcow2" --wait)
"$VMSEAL" run "$B" >"$E2E_TMP/b.out" 2>"$E2E_TMP/b.err" &
bpid=$!
e2e_track "$bpid"
for i in $(seq 100); do
	[ -e "$VMSEAL_RUN_DIR/.chains/gb" ] && grep -q '^fd' "$E2E_TMP/b.out" && break
	sleep 0.05
done
grep -q "^[0-9]* $B_INO $D/b.qcow2\$" "$VMSEAL_RUN_DIR/.chains/gb"
ok $? "running guest gb lists its writable top in RUN/.chains/gb" ||
	diag "$(cat "$VMSEAL_RUN_DIR/.chains/gb" "$E2E_TMP/b.err")"
"$VMSEAL" chain --accept "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 66 ] && grep -q "$D/b.qcow2 is an image the running guest 'gb' may write" "$E2E_TMP/err"
ok $? "accept refuses a chain holding gb's writable top (66, names gb)" ||
	diag "status $rc" "$(cat "$E2E_TMP/out" "$E2E_TMP/err")"
qemu-img create -q -f qcow2 -F qcow2 -b b.qcow2 "$D/c.qcow2" 4M
C=$(ini gc "$D/c.qcow2" --show)
"$VMSEAL" run "$C" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 66 ] && grep -q "running guest 'gb'" "$E2E_TMP/err" &&
	! grep -q "ino $B_INO\$" "$E2E_TMP/out"
ok $? "a first launch whose chain holds gb's writable top: 66, names gb" ||
	diag "status $rc" "$(cat "$E2E_TMP/out" "$E2E_TMP/err")"
"$VMSEAL" check "$C" >/dev/null 2>"$E2E_TMP/err"
[ $? = 66 ] && grep -q "running guest 'gb'" "$E2E_TMP/err"
ok $? "check refuses it too"
e2e_stop_pid "$bpid"
[ ! -e "$VMSEAL_RUN_DIR/.chains/gb" ]
ok $? "gb stopped: its entry is gone"

# The accept flow: the admin restores the header, then makes a change of
# their own, which is refused until accepted.
qemu-img rebase -u -f qcow2 -F qcow2 -b base.qcow2 "$D/a.qcow2"
"$VMSEAL" run "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
ok $? "header restored to the pinned reference: run works" ||
	diag "$(cat "$E2E_TMP/err")"
qemu-img create -q -f qcow2 "$D/base2.qcow2" 4M
BASE2_INO=$(stat -c %i "$D/base2.qcow2")
qemu-img rebase -u -f qcow2 -F qcow2 -b base2.qcow2 "$D/a.qcow2"
"$VMSEAL" run "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
[ $? = 66 ]
ok $? "the admin's own change is refused until accepted"
"$VMSEAL" chain --accept "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 0 ] && grep -q "^disk root: accepted: $D/a.qcow2: backing reference changed: was 'base.qcow2' (qcow2), now 'base2.qcow2' (qcow2)\$" "$E2E_TMP/out" &&
	grep -q "^chain record written: $VMSEAL_STATE_DIR/chains/ga.json\$" "$E2E_TMP/out"
ok $? "chain --accept shows the change and writes the record" ||
	diag "status $rc" "$(cat "$E2E_TMP/out" "$E2E_TMP/err")"
"$VMSEAL" run "$A" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
ok $? "after accept: run works" || diag "$(cat "$E2E_TMP/err")"
grep -q "^fd [0-9]*: ro ino $BASE2_INO\$" "$E2E_TMP/out"
ok $? "... and the emulator holds base2.qcow2" || diag "$(cat "$E2E_TMP/out")"
"$VMSEAL" chain --accept "$E2E_TMP/none.ini" >/dev/null 2>&1
[ $? = 65 ]
ok $? "accept of a missing config: 65"

# check as another user: root's record is trusted where it can be read,
# and where it cannot, check says the pins were not checked.
qemu-img rebase -u -f qcow2 -F qcow2 -b base.qcow2 "$D/a.qcow2"
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$VMSEAL" check "$A" \
		>"$E2E_TMP/out" 2>"$E2E_TMP/err"
	rc=$?
	if setpriv --reuid=65534 --regid=65534 --clear-groups \
		cat "$VMSEAL_STATE_DIR/chains/ga.json" >/dev/null 2>&1; then
		[ "$rc" = 66 ] && grep -q "backing reference changed: was 'base2.qcow2' (qcow2), now 'base.qcow2' (qcow2)" "$E2E_TMP/err"
	else
		grep -q "Permission denied: backing references not checked against the chain record (run check as root)" "$E2E_TMP/err"
	fi
	ok $? "check as uid 65534: root's record refuses the moved reference, or check says it could not read it" ||
		diag "status $rc" "$(cat "$E2E_TMP/err")"
else
	skip "setpriv is not installed" "check as another user"
fi
qemu-img rebase -u -f qcow2 -F qcow2 -b base2.qcow2 "$D/a.qcow2"

# Item 9 of issue 14: a qcow2 file configured as raw stays raw, and says so.
R=$(ini graw "$D/base.qcow2" --show)
sed -i 's/^format = qcow2$/format = raw/' "$R"
"$VMSEAL" check "$R" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
[ "$rc" = 0 ] && grep -q "warning: disk root: $D/base.qcow2 is configured as raw but begins with a qcow2 header; it stays raw (vmseal never probes)" "$E2E_TMP/err"
ok $? "a qcow2 file as format = raw: check passes with a warning naming the header" ||
	diag "status $rc" "$(cat "$E2E_TMP/err")"

# The record is root's and out of the emulator's reach.
[ "$(stat -c '%u %a' "$VMSEAL_STATE_DIR/chains/ga.json")" = "0 644" ] &&
	[ ! -e "$VMSEAL_RUN_DIR/ga/chain.json" ]
ok $? "the record lives in the state dir, root's, 0644 (not in the runtime dir)"

tap_done
