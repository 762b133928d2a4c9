#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# [monitor] group: RUN/NAME/monitor.sock opened to one group.  A member
# (an existing system user given the group by setpriv, nothing added to
# the host's user or group databases) runs `vmseal qmp` and raw QMP
# through it; the same user without the group, and the emulator's own
# user, are refused; the group reaches nothing else in RUN/NAME; a group
# the emulator is in, and an unknown group, are config errors.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$QEMU" qemu-img "$VMSEAL" "$QMP" setpriv python3)
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps, make test-bins)" "monitor group e2e"
	tap_done
	exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "needs root (setpriv to other users, the emulator's own uid)" "monitor group e2e"
	tap_done
	exit
fi
# The acting user and the group: existing ones, the group not the
# emulator user's ($E2E_USER), the user not in the group.
GROUP=users
ACTOR=daemon
if ! getent group "$GROUP" >/dev/null || ! id "$ACTOR" >/dev/null 2>&1 ||
	id -nG "$E2E_USER" | grep -qw "$GROUP" || id -nG "$ACTOR" | grep -qw "$GROUP"; then
	skip "needs group $GROUP and user $ACTOR, neither $E2E_USER nor $ACTOR in $GROUP" "monitor group e2e"
	tap_done
	exit
fi
e2e_setup
I=$E2E_TMP/img
guest_chain "$I" >/dev/null || exit 1
D=$(e2e_run_dir mg)
SOCK=$D/monitor.sock
ACTOR_ID=$(id -u "$ACTOR"):$(id -g "$ACTOR")

# as_member CMD...: ACTOR with GROUP as a supplementary group.
as_member() {
	setpriv --reuid="$ACTOR" --regid="$(id -g "$ACTOR")" --groups="$GROUP" \
		--inh-caps=-all --bounding-set=-all "$@"
}
# as_outsider CMD...: ACTOR with no supplementary group.
as_outsider() {
	setpriv --reuid="$ACTOR" --regid="$(id -g "$ACTOR")" --clear-groups \
		--inh-caps=-all --bounding-set=-all "$@"
}
# as_emulator CMD...: the emulator's user with its own groups.
as_emulator() {
	setpriv --reuid="$E2E_USER" --regid="$(id -g "$E2E_USER")" --init-groups \
		--inh-caps=-all --bounding-set=-all "$@"
}
# can_connect SOCKTYPE PATH: connect() succeeds (SOCK_STREAM or SOCK_SEQPACKET).
can_connect() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, getattr(socket, sys.argv[1]))
s.connect(sys.argv[2])' "$@" 2>/dev/null
}

cat >"$E2E_TMP/mg.ini" <<INI
[vmseal]
version = 1
name = mg
[emulator]
args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
[sandbox]
user = $E2E_USER
[chain]
record = none
[monitor]
group = $GROUP
[disk root]
image = $I/top.qcow2
format = qcow2
device = none
INI

# --- config errors ---
sed "s/^group = .*/group = vmseal-no-such-group/" "$E2E_TMP/mg.ini" >"$E2E_TMP/bad.ini"
r=$("$VMSEAL" check "$E2E_TMP/bad.ini" 2>&1)
rc=$?
[ $rc = 65 ] && [[ $r == *"bad.ini:11: unknown group 'vmseal-no-such-group'"* ]]
ok $? "an unknown group is a config error naming file:line" || diag "rc $rc: $r"
emu_group=$(id -gn "$E2E_USER")
sed "s/^group = .*/group = $emu_group/" "$E2E_TMP/mg.ini" >"$E2E_TMP/own.ini"
r=$(timeout 30 "$VMSEAL" run "$E2E_TMP/own.ini" 2>&1 </dev/null)
rc=$?
[ $rc = 65 ] && [[ $r == *"[monitor] group $emu_group: the emulator's user"* ]] &&
	[ ! -e "$SOCK" ]
ok $? "a group the emulator's user is in is refused before the launch" || diag "rc $rc: $r"

# --- the guest ---
"$VMSEAL" run "$E2E_TMP/mg.ini" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
vpid=$!
e2e_track "$vpid"
"$QMP" -w 20 "$SOCK" '{"execute":"query-status"}' | grep -q '"status": "prelaunch"'
ok $? "the guest runs; root reaches the gate" || diag "$(cat "$E2E_TMP/err")"
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root $GROUP" ]
ok $? "monitor.sock is 0660 root:$GROUP" || diag "$(stat -c '%a %U %G' "$SOCK")"
[ "$(stat -c '%a %U %G' "$D")" = "710 $E2E_USER $GROUP" ]
ok $? "RUN/NAME is 0710 $E2E_USER:$GROUP (search, no listing)" ||
	diag "$(stat -c '%a %U %G' "$D")"

# --- a member ---
r=$(as_member "$VMSEAL" qmp mg '{"execute":"query-status"}' 2>&1)
[[ $r == *'"status": "prelaunch"'* ]]
ok $? "a member ($ACTOR + $GROUP) runs vmseal qmp query-status" || diag "$r"
r=$(as_member "$QMP" -w 5 "$SOCK" '{"execute":"query-name"}' 2>&1)
[[ $r == '{"return": {}}'* ]]
ok $? "a member speaks raw QMP through monitor.sock" || diag "$r"
as_member ls "$D" >/dev/null 2>&1
[ $? != 0 ]
ok $? "a member cannot list RUN/NAME"
as_member test -r "$D/vmseal.pid" -a -e "$D/control.sock"
ok $? "(a member reaches names in RUN/NAME)"
! as_member python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])' "$D/control.sock" 2>/dev/null
ok $? "a member cannot connect to control.sock (0600)"
can_connect SOCK_SEQPACKET "$D/control.sock"
ok $? "(root can: the probe above can succeed)"

# --- refused ---
r=$(as_outsider "$VMSEAL" qmp mg '{"execute":"query-status"}' 2>&1)
rc=$?
[ $rc != 0 ] && [[ $r != *'"return"'* ]] && [[ $r == *"ermission denied"* ]]
ok $? "$ACTOR without $GROUP is refused" || diag "rc $rc: $r"
! as_outsider python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])' "$SOCK" 2>/dev/null
ok $? "$ACTOR without $GROUP cannot connect() to monitor.sock"
r=$(as_emulator "$QMP" -w 5 "$SOCK" '{"execute":"query-status"}' 2>&1)
rc=$?
[ $rc != 0 ] && [[ $r != *'"return"'* ]]
ok $? "the emulator's user ($E2E_USER) is refused" || diag "rc $rc: $r"

"$VMSEAL" stop mg >/dev/null 2>&1
e2e_wait_exit "$vpid" 30
ok $? "the guest stops"

# Without the key the directory is 0700 again on the next run.
sed '/^\[monitor\]/,/^group/d' "$E2E_TMP/mg.ini" >"$E2E_TMP/mg2.ini"
"$VMSEAL" run "$E2E_TMP/mg2.ini" >/dev/null 2>"$E2E_TMP/err2" &
vpid=$!
e2e_track "$vpid"
"$QMP" -w 20 "$SOCK" '{"execute":"query-status"}' >/dev/null
[ "$(stat -c '%a %G' "$D")" = "700 $emu_group" ] &&
	[ "$(stat -c '%a %U' "$SOCK")" = "600 root" ]
ok $? "without [monitor] group: RUN/NAME 0700, monitor.sock 0600 root" ||
	diag "$(stat -c '%a %U %G' "$D" "$SOCK")"
r=$(as_member "$VMSEAL" qmp mg '{"execute":"query-status"}' 2>&1)
[ $? != 0 ] && [[ $r != *'"return"'* ]]
ok $? "and the former member is refused" || diag "$r"
e2e_stop_pid "$vpid"
tap_done
