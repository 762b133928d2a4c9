#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages: both pass mandoc's lint, vmseal.ini(5) documents every
# section and key conf/config.c's key tables know (each as a "key = ..."
# item under its own section), vmseal(1) every command of launcher/cli.c's
# commands[] table (in SYNOPSIS and COMMANDS) with every long option of its
# struct option array (as an item under that command), and every exit code
# of launcher/exitcode.h in EXIT STATUS.  A key, option, command or code
# added to the code without documentation fails here.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/lib/common.sh"

# VMSEAL_MAN_DIR: check other copies of the pages (e.g. edited ones).
MAN_DIR=${VMSEAL_MAN_DIR:-$E2E_ROOT/man}
MAN1=$MAN_DIR/vmseal.1
MAN5=$MAN_DIR/vmseal.ini.5
CONFIG_C=$E2E_ROOT/conf/config.c
CLI_C=$E2E_ROOT/launcher/cli.c
EXITCODE_H=$E2E_ROOT/launcher/exitcode.h

e2e_setup

for f in "$MAN1" "$MAN5"; do
	[ -f "$f" ]
	ok $? "${f#"$E2E_ROOT"/} exists"
done

if command -v mandoc >/dev/null 2>&1; then
	formatter=mandoc
elif command -v groff >/dev/null 2>&1; then
	formatter=groff
	diag "mandoc is not installed (make deps): groff lints and formats"
else
	formatter=
fi

# (a) lint: exit 0 and not a word of output.
for f in "$MAN1" "$MAN5"; do
	name=${f##*/}
	case $formatter in
	mandoc)
		out=$(mandoc -T lint -W warning "$f" 2>&1)
		rc=$?
		[ "$rc" = 0 ] && [ -z "$out" ]
		ok $? "mandoc -T lint -W warning $name: clean" || diag "exit $rc" "$out"
		;;
	groff)
		out=$(groff -mandoc -ww -z "$f" 2>&1)
		rc=$?
		[ "$rc" = 0 ] && [ -z "$out" ]
		ok $? "groff -mandoc -ww -z $name: clean" || diag "exit $rc" "$out"
		;;
	*)
		skip "neither mandoc nor groff is installed (make deps)" "lint $name"
		;;
	esac
done

if [ -z "$formatter" ]; then
	skip "neither mandoc nor groff is installed (make deps)" \
		"keys, options, commands and exit codes documented"
	tap_done
	exit
fi

# The page as a reader sees it, without bold or underline.
render() {
	if [ "$formatter" = mandoc ]; then
		mandoc -T ascii "$1"
	else
		groff -mandoc -T ascii -P -c "$1" 2>/dev/null
	fi | sed 's/.\x08//g'
}

# section FILE HEADING: the lines of the section (.Sh, not indented) or
# subsection (.Ss, indented less than the body) whose heading, without
# its indent, matches the extended regex HEADING, up to the next heading.
section() {
	expand "$1" | awk -v re="^($2)[[:space:]]*\$" '
		/[^ ]/ {
			ind = match($0, /[^ ]/) - 1
			if (ind <= 4) {
				if (on) exit
				if (substr($0, ind + 1) ~ re) { on = 1; next }
			}
		}
		on { print }
	'
}

# has_item TEXT ITEM: TEXT has a list item starting with ITEM (an
# extended regex), the way .It renders: indented, at the start of a line.
has_item() {
	grep -Eq "^[[:space:]]+($2)([[:space:]]|,|\$)" <<<"$1"
}

render "$MAN1" >"$E2E_TMP/vmseal.1.txt"
render "$MAN5" >"$E2E_TMP/vmseal.ini.5.txt"

# (b) conf/config.c: kinds[] names each section and its key table.
kinds=$(sed -n 's/.*\[K_[A-Z]*\] = { "\([a-z]*\)", \([a-z_]*\),.*/\1 \2/p' "$CONFIG_C")
[ "$(wc -l <<<"$kinds")" -ge 6 ]
ok $? "conf/config.c: section table found ($(cut -d' ' -f1 <<<"$kinds" | xargs))"
while read -r sect table; do
	[ -n "$sect" ] || continue
	# [disk NAME] is the one section with an argument.
	text=$(section "$E2E_TMP/vmseal.ini.5.txt" "\\[$sect( [A-Z]+)?\\]")
	[ -n "$text" ]
	ok $? "vmseal.ini.5: section [$sect] has its subsection"
	keys=$(sed -n "/struct key $table\[\] = {/,/^};/p" "$CONFIG_C" |
		sed -n 's/.*{ "\([a-z0-9-]*\)", set_.*/\1/p')
	[ -n "$keys" ]
	ok $? "conf/config.c: keys of [$sect] found in $table" || continue
	for key in $keys; do
		has_item "$text" "$key ="
		ok $? "vmseal.ini.5: [$sect] $key"
	done
done <<<"$kinds"

# (c) launcher/cli.c: commands[] names each command and its options.
# opts ARRAY: the long option names of a struct option array.
opts() {
	sed -n "/struct option $1\[\] = {/,/^[[:space:]]*};/p" "$CLI_C" |
		sed -n 's/.*{ "\([a-z0-9-]*\)", [a-z]*_argument,.*/\1/p'
}
cmds=$(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", CMD_[A-Z_]*, "[^"]*", \([a-z_]*\),.*/\1 \2/p' "$CLI_C")
[ "$(wc -l <<<"$cmds")" -ge 11 ]
ok $? "launcher/cli.c: commands[] found ($(cut -d' ' -f1 <<<"$cmds" | xargs))"
synopsis=$(section "$E2E_TMP/vmseal.1.txt" "SYNOPSIS")
while read -r cmd table; do
	[ -n "$cmd" ] || continue
	text=$(section "$E2E_TMP/vmseal.1.txt" "vmseal $cmd")
	has_item "$synopsis" "vmseal $cmd" && [ -n "$text" ]
	ok $? "vmseal.1: command $cmd in SYNOPSIS and COMMANDS"
	for opt in $(opts "$table"); do
		# --help is every command's, and documented once (below).
		[ "$opt" = help ] && continue
		has_item "$text" "(-[a-zA-Z], )?--$opt"
		ok $? "vmseal.1: $cmd --$opt"
	done
done <<<"$cmds"
global=$(opts global_opts)
[ -n "$global" ]
ok $? "launcher/cli.c: global options found ($(xargs <<<"$global"))"
for opt in $global; do
	has_item "$(cat "$E2E_TMP/vmseal.1.txt")" "-[a-zA-Z], --$opt"
	ok $? "vmseal.1: vmseal --$opt"
done
# The emulator-named symlink, which cli.c never sees.
grep -q '/usr/libexec/vmseal/qemu-system-x86_64' <<<"$synopsis"
ok $? "vmseal.1: the symlink invocation in SYNOPSIS"

# (d) launcher/exitcode.h, and the literal 0 and 1 (selftest, stop, lock,
# status) the commands return.
codes=$(sed -n 's/^[[:space:]]*\(EXIT_[A-Z_]*\) = \([0-9]*\),.*/\1 \2/p' "$EXITCODE_H")
[ "$(wc -l <<<"$codes")" -ge 6 ]
ok $? "launcher/exitcode.h: exit codes found ($(cut -d' ' -f2 <<<"$codes" | xargs))"
status=$(section "$E2E_TMP/vmseal.1.txt" "EXIT STATUS")
while read -r name value; do
	[ -n "$name" ] || continue
	has_item "$status" "$value"
	ok $? "vmseal.1 EXIT STATUS: $value ($name)"
done <<<"$(printf '%s\n' "$codes" "success 0" "failure 1")"

tap_done
