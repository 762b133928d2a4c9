# SPDX-License-Identifier: GPL-2.0-or-later
# TAP for shell tests: source it, call ok/skip/diag, end with tap_done.
_tap_n=0
_tap_failed=0

# ok CONDITION-STATUS NAME: "ok COMMAND..." style is easier to misuse, so
# callers pass the status of a test they already ran: ok $? "name".
ok() {
	local status=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $_tap_n - $*"
	else
		_tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - $*"
	fi
	return "$status"
}

# check NAME COMMAND...: runs the command, ok when it exits 0.
check() {
	local name=$1
	shift
	"$@"
	ok $? "$name"
}

skip() {
	local reason=$1
	shift
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $* # SKIP $reason"
}

diag() {
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do echo "# $line"; done
}

tap_done() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}
