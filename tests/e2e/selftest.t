#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `vmseal selftest`, the hardening policy tests users run, as part of make
# check.  Its filter and broker rows come from the same tables as
# tests/probes/selftest_static, which counts them (the kernel's answer,
# from a static program): here they are one check, that the installed
# command prints the same rows and passes them all.  Every other row (the
# real QEMU probed from outside, and any group selftest_static does not
# run) is a TAP line of its own: PASS ok, FAIL not ok, SKIP skip.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

missing=$(e2e_missing "$VMSEAL")
if [ -n "$missing" ]; then
	skip "$missing is not built (make)" "selftest"
	tap_done
	exit
fi
e2e_setup
args=()
if [ -x "$QEMU" ]; then
	args=(--emulator "$QEMU")
else
	skip "$QEMU is not installed (make deps)" "selftest --emulator"
fi

# The groups selftest_static runs too.
shared_group() {
	case $1 in
	"filter "* | broker) return 0 ;;
	esac
	return 1
}

"$VMSEAL" selftest "${args[@]}" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
: >"$E2E_TMP/shared"
while IFS= read -r line; do
	status=${line%% *}
	row=${line#* }
	case $status in
	PASS | FAIL | SKIP) ;;
	*) diag "$line"; continue ;;
	esac
	name=${row%% -> *}
	if shared_group "${name%%: *}"; then
		echo "$status $name" >>"$E2E_TMP/shared"
		continue
	fi
	case $status in
	PASS) ok 0 "$row" ;;
	FAIL) ok 1 "$row" ;;
	SKIP) skip "${row#*(}" "$row" ;;
	esac
done <"$E2E_TMP/out"
[ -s "$E2E_TMP/err" ] && diag "stderr:" "$(cat "$E2E_TMP/err")"
summary=$(tail -n 1 "$E2E_TMP/out")
[[ $summary =~ ^[0-9]+\ passed,\ 0\ failed ]] && [ "$rc" = 0 ]
ok $? "selftest exits 0 with no failure ($summary)"

# The same rows, by name and verdict, as the static program's.
static=$E2E_BUILD/tests/probes/selftest_static
if [ -x "$static" ]; then
	"$static" >"$E2E_TMP/static" 2>&1
	sed -n 's/^ok [0-9]* - \(.*\) # SKIP .*/SKIP \1/p
		s/^ok [0-9]* - \(.*\)/PASS \1/p
		s/^not ok [0-9]* - \(.*\)/FAIL \1/p' "$E2E_TMP/static" |
		sed 's/ -> .*//' | sort >"$E2E_TMP/static.rows"
	sort "$E2E_TMP/shared" >"$E2E_TMP/shared.rows"
	n=$(wc -l <"$E2E_TMP/shared.rows")
	diff "$E2E_TMP/static.rows" "$E2E_TMP/shared.rows" >"$E2E_TMP/diff"
	d=$?
	[ "$d" = 0 ] || diag "selftest_static (<) and vmseal selftest (>) differ:" \
		"$(head -n 20 "$E2E_TMP/diff")"
	[ "$d" = 0 ] && [ "$n" -gt 0 ] && ! grep -q '^FAIL' "$E2E_TMP/shared.rows"
	ok $? "filter and broker rows: the same $n rows and verdicts as selftest_static"
else
	skip "$static is not built (make test-bins)" "filter and broker rows match selftest_static"
fi

"$VMSEAL" selftest --json >"$E2E_TMP/json" 2>/dev/null
rc=$?
grep -q '"failed": *0' "$E2E_TMP/json" && grep -q '"results": *\[' "$E2E_TMP/json" &&
	grep -q '"status": *"PASS"' "$E2E_TMP/json" && [ "$rc" = 0 ]
ok $? "selftest --json: one document with results and counts"

tap_done
