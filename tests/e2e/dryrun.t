#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `wrap --dry-run` refuses what the real run refuses: who the emulator
# would run as is resolved in both (a missing [sandbox] user: 65).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

# QEMU keeps the caller's pid: the caller sees its exit first, and
# vmseal's helper removes the runtime directory just after.  Wait up to
# 5 s for that, then name what is left.
wrap_dirs_left() {
	local left
	for _ in $(seq 50); do
		left=$(ls -A "$VMSEAL_RUN_DIR" 2>/dev/null | grep '^wrap')
		[ -z "$left" ] && break
		sleep 0.1
	done
	printf '%s' "$left"
}

missing=$(e2e_missing "$QEMU" "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps)" "wrap --dry-run e2e"
	timeout 20 "$VMSEAL" wrap --config "$E2E_TMP/ok.ini" -- "$QEMU" -machine none -display none -version \
	>"$E2E_TMP/real.out" 2>&1
rc=$?
left=$(wrap_dirs_left)
[ $rc = 0 ] && [ -z "$left" ]
ok $? "a wrapped run leaves no wrap-PID runtime directory behind" || diag "exit $rc: $left" "$(cat "$E2E_TMP/real.out")"
tap_done
	exit
fi
e2e_setup
printf '[vmseal]\nversion = 1\nname = wrap\n[sandbox]\nuser = no-such-user-vmseal\n' >"$E2E_TMP/wrap.ini"
"$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" --dry-run -- "$QEMU" -machine none -display none \
	>"$E2E_TMP/dry.out" 2>"$E2E_TMP/dry.err"
drc=$?
timeout 20 "$VMSEAL" wrap --config "$E2E_TMP/wrap.ini" -- "$QEMU" -machine none -display none -version \
	>"$E2E_TMP/real.out" 2>"$E2E_TMP/real.err"
rrc=$?
[ $drc = 65 ] && [ $rrc = 65 ] && [ ! -s "$E2E_TMP/dry.out" ] && cmp -s "$E2E_TMP/dry.err" "$E2E_TMP/real.err"
ok $? "wrap --dry-run with a user that does not exist: 65, as the real run, same message" ||
	diag "dry $drc: $(cat "$E2E_TMP/dry.err")" "real $rrc: $(cat "$E2E_TMP/real.err")"
printf '[vmseal]\nversion = 1\nname = wrap\n' >"$E2E_TMP/ok.ini"
"$VMSEAL" wrap --config "$E2E_TMP/ok.ini" --dry-run -- "$QEMU" -machine none -display none \
	>"$E2E_TMP/dry.out" 2>"$E2E_TMP/dry.err"
drc=$?
[ $drc = 0 ] && head -n 1 "$E2E_TMP/dry.out" | grep -qx "$QEMU"
ok $? "wrap --dry-run of a runnable config: the argv, exit 0" || diag "exit $drc" "$(cat "$E2E_TMP/dry.err")"
timeout 20 "$VMSEAL" wrap --config "$E2E_TMP/ok.ini" -- "$QEMU" -machine none -display none -version \
	>"$E2E_TMP/real.out" 2>&1
rc=$?
left=$(wrap_dirs_left)
[ $rc = 0 ] && [ -z "$left" ]
ok $? "a wrapped run leaves no wrap-PID runtime directory behind" || diag "exit $rc: $left" "$(cat "$E2E_TMP/real.out")"
tap_done
