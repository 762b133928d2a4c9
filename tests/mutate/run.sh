#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make mutate: breaks one security check at a time and runs the tests that
# must notice.  Every mutant of tests/mutate/mutants.txt is applied to a
# scratch copy of the tree (never the working tree), built, and its tests
# run; a mutant the tests do not fail on SURVIVED.  Prints one line per
# mutant, the equivalent ones with their reason, the kill rate over the
# non-equivalent mutants, and exits non-zero when any survived (or could
# not be applied or built: the list no longer matches the code).
#
#   MUTANTS=FILE          the list (default tests/mutate/mutants.txt)
#   MUTATE_ONLY=REGEX     only the mutants whose name matches
#   MUTATE_JOBS=N         make -jN (default 2)
#   MUTATE_TIMEOUT=S      per test program (default 300 s)
#   MUTATE_KEEP=1         keep the scratch tree (its path is printed)
#
# List format: entries separated by blank lines, '#' starts a comment line.
#   mutant: NAME              unique
#   file: PATH                relative to the top of the tree
#   find: TEXT                exact text, found exactly once in PATH
#   find+: TEXT               another line of it (joined with a newline)
#   replace: TEXT             what it becomes (replace+: as find+:)
#   tests: PROGRAM...         test programs or scripts, relative to the
#                             tree (build/tests/unit/x_test, tests/e2e/x.t)
#   equivalent: REASON        no test can tell it apart: listed, not run
set -u

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
list=${MUTANTS:-$top/tests/mutate/mutants.txt}
only=${MUTATE_ONLY:-}
jobs=${MUTATE_JOBS:-2}
per_test=${MUTATE_TIMEOUT:-300}

[ -r "$list" ] || { echo "mutate: cannot read $list" >&2; exit 2; }

# --- the list, parsed into arrays
names=() files=() finds=() repls=() tests=() equivs=()
m_name= m_file= m_find= m_repl= m_tests= m_equiv= have_find= have_repl=
flush() {
	[ -n "$m_name$m_file$have_find$have_repl$m_tests$m_equiv" ] || return 0
	if [ -z "$m_name" ] || [ -z "$m_file" ] || [ -z "$have_find" ] ||
		{ [ -z "$have_repl" ] && [ -z "$m_equiv" ]; } ||
		{ [ -z "$m_tests" ] && [ -z "$m_equiv" ]; }; then
		echo "mutate: $list: incomplete entry '${m_name:-?}'" >&2
		exit 2
	fi
	names+=("$m_name") files+=("$m_file") finds+=("$m_find")
	repls+=("$m_repl") tests+=("$m_tests") equivs+=("$m_equiv")
	m_name= m_file= m_find= m_repl= m_tests= m_equiv= have_find= have_repl=
}
nl=$'\n'
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	"#"*) continue ;;
	"") flush; continue ;;
	"mutant: "*) m_name=${line#mutant: } ;;
	"file: "*) m_file=${line#file: } ;;
	"find: "*) m_find=${line#find: } have_find=1 ;;
	"find+: "*) m_find+=$nl${line#find+: } ;;
	"replace: "*) m_repl=${line#replace: } have_repl=1 ;;
	"replace:") m_repl= have_repl=1 ;;
	"replace+: "*) m_repl+=$nl${line#replace+: } ;;
	"tests: "*) m_tests=${line#tests: } ;;
	"equivalent: "*) m_equiv=${line#equivalent: } ;;
	*) echo "mutate: $list: cannot read line: $line" >&2; exit 2 ;;
	esac
done <"$list"
flush

# --- a scratch copy of the tree as it is now (tracked and new files)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-mutate.XXXXXX") || exit 2
# e2e tests run emulators (and static probes from build/) as other users.
chmod 0755 "$scratch"
if [ -n "${MUTATE_KEEP:-}" ]; then
	echo "# scratch tree: $scratch"
else
	trap 'rm -rf "$scratch"' EXIT
fi
trap 'exit 130' INT TERM
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
	tar -C "$scratch" -xf - || { echo "mutate: copy failed" >&2; exit 2; }

start=$(date +%s)
build() {
	make -C "$scratch" -j"$jobs" WERROR=0 test-bins >"$scratch/.build.log" 2>&1
}
# run_tests "PROGRAM..." LOG: 0 when every program passed.
run_tests() {
	local t progs=()
	for t in $1; do
		progs+=("$scratch/$t")
	done
	(cd "$scratch" && VS_TEST_TIMEOUT=$per_test VMSEAL="$scratch/vmseal" \
		E2E_BUILD="$scratch/build" tests/run "${progs[@]}") >"$2" 2>&1
}

echo "# building the unmutated copy"
if ! build; then
	tail -n 20 "$scratch/.build.log"
	echo "mutate: the unmutated tree does not build" >&2
	exit 2
fi
# The tests must pass before any mutant, or a "kill" means nothing.
all_tests=$(for i in "${!names[@]}"; do
	[ -n "${equivs[$i]}" ] && continue
	[ -n "$only" ] && ! [[ ${names[$i]} =~ $only ]] && continue
	echo "${tests[$i]}"
done | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "# baseline: $all_tests"
if ! run_tests "$all_tests" "$scratch/.baseline.log"; then
	grep -E '^not ok|^--- ' "$scratch/.baseline.log" | grep -v ' 0 failed' | head -n 20
	echo "mutate: the tests fail without any mutant; fix that first" >&2
	exit 2
fi

killed=0 survived=0 broken=0 equiv=0 total=0
survivors=()
for i in "${!names[@]}"; do
	name=${names[$i]} file=${files[$i]}
	[ -n "$only" ] && ! [[ $name =~ $only ]] && continue
	total=$((total + 1))
	if [ -n "${equivs[$i]}" ]; then
		equiv=$((equiv + 1))
		printf '%-10s %s (%s): %s\n' equivalent "$name" "$file" "${equivs[$i]}"
		continue
	fi
	path=$scratch/$file
	if [ ! -f "$path" ]; then
		broken=$((broken + 1))
		printf '%-10s %s: no file %s\n' BROKEN "$name" "$file"
		continue
	fi
	IFS= read -r -d '' orig <"$path"
	find=${finds[$i]}
	rest=${orig//"$find"/}
	count=$(((${#orig} - ${#rest}) / ${#find}))
	if [ "$count" -ne 1 ]; then
		broken=$((broken + 1))
		printf '%-10s %s: the text is found %d times in %s, not once\n' \
			BROKEN "$name" "$count" "$file"
		continue
	fi
	t0=$(date +%s)
	printf '%s' "${orig/"$find"/"${repls[$i]}"}" >"$path"
	if ! build; then
		broken=$((broken + 1))
		printf '%-10s %s: does not build:\n' BROKEN "$name"
		grep -m 3 -E 'error|Error' "$scratch/.build.log" | sed 's/^/    /'
	elif run_tests "${tests[$i]}" "$scratch/.mutant.log"; then
		survived=$((survived + 1))
		survivors+=("$name")
		printf '%-10s %s (%s; %s) %ds\n' SURVIVED "$name" "$file" \
			"${tests[$i]}" $(($(date +%s) - t0))
	else
		killed=$((killed + 1))
		by=$(grep -m 1 -E '^not ok' "$scratch/.mutant.log" | cut -c1-100)
		printf '%-10s %s (%s) %ds\n' killed "$name" "${by:-non-zero exit}" \
			$(($(date +%s) - t0))
	fi
	printf '%s' "$orig" >"$path"
	touch "$path"
done

live=$((total - equiv))
rate=0
[ "$live" -gt 0 ] && rate=$((killed * 100 / live))
echo "# $total mutants: $killed killed, $survived survived, $broken broken, $equiv equivalent (listed, not run)"
echo "kill rate: $killed of $live non-equivalent mutants ($rate%) in $(($(date +%s) - start)) s"
[ "$survived" -eq 0 ] || echo "survivors: ${survivors[*]}"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ]
