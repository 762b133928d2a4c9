#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `vmseal selftest`, the hardening policy tests users run, as part of
# make check: every row it prints becomes a TAP line (PASS ok, FAIL not
# ok, SKIP skip), with the real QEMU probed from outside too.
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

"$VMSEAL" selftest "${args[@]}" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) ok 0 "${line#PASS }" ;;
	"FAIL "*) ok 1 "${line#FAIL }" ;;
	"SKIP "*) skip "${line#*(}" "${line#SKIP }" ;;
	"INFO "* | "vmseal "*) diag "$line" ;;
	esac
done <"$E2E_TMP/out"
[ -s "$E2E_TMP/err" ] && diag "stderr:" "$(cat "$E2E_TMP/err")"
summary=$(tail -n 1 "$E2E_TMP/out")
[[ $summary =~ ^[0-9]+\ passed,\ 0\ failed ]] && [ "$rc" = 0 ]
ok $? "selftest exits 0 with no failure ($summary)"

"$VMSEAL" selftest --json >"$E2E_TMP/json" 2>/dev/null
rc=$?
grep -q '"failed": *0' "$E2E_TMP/json" && grep -q '"results": *\[' "$E2E_TMP/json" &&
	grep -q '"status": *"PASS"' "$E2E_TMP/json" && [ "$rc" = 0 ]
ok $? "selftest --json: one document with results and counts"

tap_done
