#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Malformed configs and hostile images: each gives its documented message
# and exit code, and no emulator is ever started (strace shows vmseal
# neither forked nor executed anything).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing qemu-img qemu-io strace "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not installed (make deps)" "errors e2e"
	tap_done
	exit
fi
e2e_setup
cd "$E2E_TMP" || exit 1
I=$E2E_TMP/img
guest_chain "$I" >/dev/null
ok $? "chain created"

# A head every config shares; cases append to it.
head_ini() {
	printf '[vmseal]\nversion = 1\n[emulator]\nbinary = %s\nargs = -S\n' "$QEMU"
}

# expect NAME CODE MESSAGE-SUBSTRING [REASON...]: runs `vmseal run
# guest.ini` under strace; checks the exit code, the message (and every
# REASON in it too) and that nothing was started.
expect() {
	local name=$1 code=$2 msg=$3 rc reason all
	shift 3
	# Who the emulator would run as, last so no case's line moves.
	grep -q '^\[sandbox\]' guest.ini || printf '[sandbox]\nuser = %s\n' "$E2E_USER" >>guest.ini
	# LeakSanitizer (SANITIZE= builds) cannot run under ptrace.
	ASAN_OPTIONS=detect_leaks=0 \
		strace -f -qq -o "$E2E_TMP/trace" -e trace=execve,clone,clone3,fork,vfork \
		"$VMSEAL" run guest.ini >"$E2E_TMP/out" 2>"$E2E_TMP/err"
	rc=$?
	[ "$rc" = "$code" ] && grep -qF -- "$msg" "$E2E_TMP/err"
	all=$?
	for reason in "$@"; do
		grep -qF -- "$reason" "$E2E_TMP/err" || all=1
	done
	ok $all "$name: exit $code, '$msg'${1:+ ($*)}" ||
		diag "exit $rc" "$(cat "$E2E_TMP/err")"
	# Threads (CLONE_VM, a sanitizer's) are no process; forks are.  The
	# call's name, not a path that merely contains "clone".
	[ "$(grep -c ' execve(' "$E2E_TMP/trace")" = 1 ] &&
		! grep -E '^[0-9]+ +(clone|clone3|fork|vfork)\(' "$E2E_TMP/trace" |
			grep -qv CLONE_VM
	ok $? "$name: no emulator started" || diag "$(cat "$E2E_TMP/trace")"
}

disk() {
	printf '[disk root]\nimage = %s\nformat = %s\ndevice = none\n' "$1" "$2"
}

# --- configs: 65 with FILE:LINE
{ head_ini; echo "bogus = 1"; disk "$I/top.qcow2" qcow2; } >guest.ini
expect "unknown key" 65 "guest.ini:6: unknown key 'bogus' in [emulator]"

{ head_ini; echo "[nonsense]"; } >guest.ini
expect "unknown section" 65 "guest.ini:6: unknown section [nonsense]"

{ printf '[emulator]\nbinary = %s\n' "$QEMU"; disk "$I/top.qcow2" qcow2; } >guest.ini
expect "missing version" 65 "guest.ini: missing 'version' in [vmseal]"

{ head_ini; disk "img/top.qcow2" qcow2; } >guest.ini
expect "relative path" 65 "guest.ini:7: 'image' must be an absolute path"

{ head_ini; disk "$I/top.qcow2" qcow2; disk "$I/mid.qcow2" qcow2; } >guest.ini
expect "duplicate disk" 65 "guest.ini:10: duplicate disk 'root' (first defined on line 6)"

{ head_ini; echo "binary = /bin/true"; } >guest.ini
expect "duplicate key" 65 "guest.ini:6: duplicate key 'binary'"

{ head_ini; printf 'append = %04096d\n' 0; } >guest.ini
expect "line of 4096+ bytes" 65 "guest.ini:6: line longer than 4095 bytes"

{ head_ini; printf 'args = -a\0b\n'; } >guest.ini
expect "NUL byte" 65 "guest.ini:6: NUL byte in line"

{ head_ini; printf '[disk root]\nimage = %s\n' "$I/top.qcow2"; } >guest.ini
expect "missing format" 65 "format is required"

# --- images and chains: 66 naming the image
{ head_ini; disk "$I/nothere.qcow2" qcow2; } >guest.ini
expect "missing image" 66 "$I/nothere.qcow2"

qemu-img create -q -f qcow2 -F raw -b /etc/passwd "$E2E_TMP/outside.qcow2" 1M
mkdir -p "$E2E_TMP/o" && mv "$E2E_TMP/outside.qcow2" "$E2E_TMP/o/"
{ head_ini; disk "$E2E_TMP/o/outside.qcow2" qcow2; } >guest.ini
expect "backing outside roots" 66 "$E2E_TMP/o/outside.qcow2" \
	"backing file '/etc/passwd' lies outside the allowed roots"

mkdir -p "$E2E_TMP/j"
qemu-img create -q -f qcow2 -u -F raw -b 'json:{"driver":"file","filename":"/etc/passwd"}' "$E2E_TMP/j/json.qcow2" 1M
{ head_ini; disk "$E2E_TMP/j/json.qcow2" qcow2; } >guest.ini
expect "json: backing name" 66 "$E2E_TMP/j/json.qcow2" \
	"uses a protocol or json: prefix"

mkdir -p "$E2E_TMP/l"
qemu-img create -q -f qcow2 "$E2E_TMP/l/a.qcow2" 1M
qemu-img create -q -f qcow2 -F qcow2 -b a.qcow2 "$E2E_TMP/l/b.qcow2"
qemu-img rebase -q -u -f qcow2 -F qcow2 -b b.qcow2 "$E2E_TMP/l/a.qcow2"
{ head_ini; disk "$E2E_TMP/l/a.qcow2" qcow2; } >guest.ini
expect "backing loop" 66 "loop"

ln -s "$I/top.qcow2" "$I/link.qcow2"
{ head_ini; disk "$I/link.qcow2" qcow2; } >guest.ini
expect "symlink as image" 66 "$I/link.qcow2"
rm -f "$I/link.qcow2"

{ head_ini; disk "$I/top.qcow2" raw; printf '[sandbox]\nuser = %s\n' "$E2E_USER"; } >guest.ini
"$VMSEAL" argv guest.ini >"$E2E_TMP/argv"
grep -qx -- '-add-fd' "$E2E_TMP/argv" && [ "$(grep -c -- '^-add-fd$' "$E2E_TMP/argv")" = 1 ] &&
	grep -q 'driver=raw,node-name=root' "$E2E_TMP/argv"
ok $? "a qcow2 file configured as raw stays raw: one member, no backing followed"

# --- the emulator itself: 126
{ printf '[vmseal]\nversion = 1\n[emulator]\nbinary = /nonexistent/qemu\n'; } >guest.ini
expect "emulator missing" 126 "emulator /nonexistent/qemu cannot be executed"

# --- usage: 64
"$VMSEAL" frobnicate >/dev/null 2>"$E2E_TMP/err"
[ $? = 64 ] && grep -q "unknown command 'frobnicate'" "$E2E_TMP/err"
ok $? "unknown command: exit 64"
"$VMSEAL" run >/dev/null 2>"$E2E_TMP/err"
[ $? = 64 ] && grep -q "no config file given" "$E2E_TMP/err"
ok $? "run without FILE: exit 64"
"$VMSEAL" --help | grep -q '^Usage: vmseal' && "$VMSEAL" run --help | grep -q '^Usage: vmseal run'
ok $? "--help and run --help"
"$VMSEAL" --version | grep -qE '^vmseal [0-9]+\.[0-9]+\.[0-9]+$'
ok $? "--version"

tap_done
