#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vmseal does not depend on the caller's environment: started with umask
# 077 and another locale, with fresh runtime and state directories, the
# guest starts, its emulator reaches its own runtime directory, and what
# vmseal created has the documented modes.  (tests/run itself sets umask
# 022 and LC_ALL=C for every test, so that no test depends on them.)
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img "$VMSEAL" "$QMP")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "env e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root to start a guest as another user" "env e2e"
	tap_done
	exit
fi
e2e_setup
export VMSEAL_RUN_DIR=$E2E_TMP/fresh/run VMSEAL_STATE_DIR=$E2E_TMP/fresh/state
mkdir -m 0755 "$E2E_TMP/fresh"
qemu-img create -q -f qcow2 "$E2E_TMP/disk.qcow2" 1M
cat >"$E2E_TMP/env.ini" <<EOF
[vmseal]
version = 1
name = env
[emulator]
binary = $QEMU
args = -machine none -nodefaults -display none -S
args = -qmp unix:$VMSEAL_RUN_DIR/env/qmp.sock,server=on,wait=off
[sandbox]
user = $E2E_USER
[disk root]
image = $E2E_TMP/disk.qcow2
format = qcow2
device = none
EOF

(umask 077 && LC_ALL=C.UTF-8 LANG=de_DE.UTF-8 exec "$VMSEAL" run "$E2E_TMP/env.ini") \
	>"$E2E_TMP/out" 2>"$E2E_TMP/err" &
vpid=$!
e2e_track "$vpid"
e2e_qmp "$VMSEAL_RUN_DIR/env/qmp.sock" '{"execute":"query-status"}' |
	grep -q '"status": "prelaunch"'
ok $? "umask 077, another locale: the guest starts, QMP answers" ||
	diag "$(cat "$E2E_TMP/err")"
[ "$(stat -c %a "$VMSEAL_RUN_DIR")" = 755 ]
ok $? "the runtime base it created is 0755 ($(stat -c %a "$VMSEAL_RUN_DIR" 2>&1))"
[ "$(stat -c %a "$E2E_TMP/fresh/state/chains" 2>&1)" = 755 ] &&
	[ "$(stat -c %a "$E2E_TMP/fresh/state/chains/env.json")" = 644 ]
ok $? "the chain record: 0644 in a 0755 directory ($(stat -c %a "$E2E_TMP/fresh/state/chains" "$E2E_TMP/fresh/state/chains/env.json" 2>&1 | tr '\n' ' '))"
e2e_qmp "$VMSEAL_RUN_DIR/env/qmp.sock" '{"execute":"quit"}' >/dev/null
e2e_wait_exit "$vpid" 30
ok $? "it exits 0 after quit"

tap_done
