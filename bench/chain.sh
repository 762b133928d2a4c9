#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: `vmseal chain --json` against `qemu-img info --backing-chain
# --output=json` and against the syscall floor (bench_chain_floor: per
# member only openat2 O_PATH beneath the root without symlinks, fstat,
# the reopen, close, pread of the header bytes needed, close), on qcow2
# chains of 1, 10, 100 and 1000 members (one chain of 1000 made once; the
# chain of N is its top N).
#
# The three run interleaved, round after round (REPS rounds, at least
# 20), in a turning order, so a busy machine slows all of them alike and
# none always runs after another has warmed the caches.  Every cell is min,
# median and max.  The cost per member is the slope of a least-squares
# fit over the depths, which takes each process's start-up out (the
# intercept); fitted once on the medians and once on the minima.  The
# floor is timed inside its process (no start-up at all), on its first
# walk (the header sizes it reads were learnt by an earlier process).  A run that
# failed prints FAILED and why instead of figures.  A benchmark, not a
# test: nothing here passes or fails on speed; the goals are marked.
#   bench/chain.sh [VMSEAL [FLOOR]]    (FLOOR: bench_chain_floor)
set -u
here=$(cd "$(dirname "$0")" && pwd)
VMSEAL=${1:-${VMSEAL:-$here/../vmseal}}
FLOOR=${2:-${FLOOR:-$here/../build-bench/bench/bench_chain_floor}}
REPS=${REPS:-20}
[ "$REPS" -lt 20 ] && REPS=20
DEPTHS=${DEPTHS:-"1 10 100 1000"}
out_dir=$here/out
mkdir -p "$out_dir"
t=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-bench.XXXXXX")
trap 'rm -rf "$t"' EXIT
# Timed with bash's own clock, EPOCHREALTIME (microseconds, read without
# a fork): a `date` process per reading would add its start-up to every
# figure.  LC_ALL=C keeps its decimal point a '.'.
export LC_ALL=C

max=0
for d in $DEPTHS; do [ "$d" -gt "$max" ] && max=$d; done
echo "making a $max-member qcow2 chain in $t ..." >&2
qemu-img create -q -f qcow2 "$t/d0.qcow2" 1M || exit 1
for ((i = 1; i < max; i++)); do
	# -u: no open of the chain below, so making it stays linear.
	qemu-img create -q -f qcow2 -u -F qcow2 -b "d$((i - 1)).qcow2" \
		"$t/d$i.qcow2" 1M || exit 1
done

# stats V...: "min median max" of numbers.
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { printf "%.3f %.3f %.3f\n", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

# Per tool and depth: the times of every round (ms), or the failure.
declare -A times fail
tools="vmseal qemu-img floor"

# run_one TOOL DEPTH: one timed run, its time added (or its failure).
run_one() {
	local tool=$1 d=$2 top=d$(($2 - 1)).qcow2 s e out
	[ -n "${fail[$tool.$d]:-}" ] && return
	case $tool in
	vmseal)
		s=${EPOCHREALTIME/./}
		"$VMSEAL" chain "$t/$top" --format qcow2 --json --max-depth 4096 \
			>/dev/null 2>"$t/err"
		;;
	qemu-img)
		s=${EPOCHREALTIME/./}
		qemu-img info --backing-chain --output=json "$t/$top" \
			>/dev/null 2>"$t/err"
		;;
	floor)
		out=$("$FLOOR" "$t" "$top" 1 "$t/needs.$d" 2>"$t/err")
		;;
	esac
	if [ $? != 0 ]; then
		fail[$tool.$d]=$(head -c 120 "$t/err" | tr '\n' ' ')
		[ -n "${fail[$tool.$d]}" ] || fail[$tool.$d]="exit status $?"
		return
	fi
	if [ "$tool" = floor ]; then
		set -- $out
		times[$tool.$d]+="$(awk -v n="$4" -v m="$2" -v d="$d" 'BEGIN {
			if (m != d) exit 1; printf "%.6f", n / 1e6 }' || echo x) "
		[[ ${times[$tool.$d]} == *x* ]] && fail[$tool.$d]="walked $2 members, not $d"
		return
	fi
	e=${EPOCHREALTIME/./}
	times[$tool.$d]+="$(awk -v u=$((e - s)) 'BEGIN { printf "%.3f", u / 1e3 }') "
}

command -v qemu-img >/dev/null || { echo "chain.sh: qemu-img is not installed" >&2; exit 1; }
[ -x "$FLOOR" ] || for d in $DEPTHS; do fail[floor.$d]="$FLOOR missing (make bench builds it)"; done
# The floor's header sizes, learnt once, so that its timed walk is the
# first of its process, as cold as vmseal's.
for d in $DEPTHS; do
	[ -x "$FLOOR" ] && ! "$FLOOR" --learn "$t" "d$((d - 1)).qcow2" >"$t/needs.$d" 2>"$t/err" &&
		fail[floor.$d]="learning the header sizes: $(head -c 100 "$t/err")"
done
echo "timing $REPS interleaved rounds of vmseal, qemu-img and the floor ..." >&2
# The order of the three turns each round: a walk leaves the chain's
# inodes, dentries and header pages in the CPU's caches for whichever
# tool runs next, and a fixed order would hand that to the same one.
set -- $tools
order=("$1 $2 $3" "$2 $3 $1" "$3 $1 $2")
for ((r = 0; r < REPS; r++)); do
	for d in $DEPTHS; do
		for tool in ${order[r % 3]}; do
			run_one "$tool" "$d"
		done
	done
done

# fit WHICH TOOL: the slope (us per member) and intercept (ms) of a
# least-squares line through (depth, min or median ms); "" when a depth
# failed.
declare -A st
for tool in $tools; do
	for d in $DEPTHS; do
		[ -z "${fail[$tool.$d]:-}" ] && st[$tool.$d]=$(stats ${times[$tool.$d]})
	done
done
fit() {
	local col=$1 tool=$2 d pts=""
	for d in $DEPTHS; do
		[ -n "${st[$tool.$d]:-}" ] || return
		set -- ${st[$tool.$d]}
		pts+="$d ${!col} "
	done
	awk -v p="$pts" 'BEGIN { n = split(p, a, " "); k = n / 2
		for (i = 0; i < k; i++) { x = a[2 * i + 1]; y = a[2 * i + 2]
			sx += x; sy += y; sxx += x * x; sxy += x * y }
		s = (k * sxy - sx * sy) / (k * sxx - sx * sx); c = (sy - s * sx) / k
		printf "%.3f %.3f\n", s * 1000, c }'
}

printf '%-6s | %-26s | %-26s | %-26s | %s\n' depth "vmseal ms (min med max)" \
	"qemu-img ms (min med max)" "floor ms (min med max)" "qemu-img/vmseal (med, min)"
printf -- '-------+----------------------------+----------------------------+----------------------------+---------------------------\n'
json_rows="" sep=""
cell() { # TOOL DEPTH
	if [ -n "${fail[$1.$2]:-}" ]; then echo "FAILED: ${fail[$1.$2]}"; else echo "${st[$1.$2]}"; fi
}
jcell() { # TOOL DEPTH
	if [ -n "${fail[$1.$2]:-}" ]; then
		printf '{"failed":"%s"}' "$(sed 's/["\\]/\\&/g' <<<"${fail[$1.$2]}")"
	else
		set -- ${st[$1.$2]}
		printf '{"min":%s,"median":%s,"max":%s}' "$1" "$2" "$3"
	fi
}
for d in $DEPTHS; do
	ratio=-
	if [ -n "${st[vmseal.$d]:-}" ] && [ -n "${st[qemu-img.$d]:-}" ]; then
		read -r vmin vmed _ <<<"${st[vmseal.$d]}"
		read -r qmin qmed _ <<<"${st[qemu-img.$d]}"
		ratio=$(awk -v a="$qmed" -v b="$vmed" -v c="$qmin" -v e="$vmin" \
			'BEGIN { printf "%.1fx, %.1fx", a / b, c / e }')
	fi
	printf '%-6s | %-26s | %-26s | %-26s | %s\n' "$d" "$(cell vmseal "$d")" \
		"$(cell qemu-img "$d")" "$(cell floor "$d")" "$ratio"
	# bench/run.sh reads these: depth, vmseal and qemu-img min/med/max ms.
	[ -n "${CHAIN_RAW:-}" ] && [ -n "${st[vmseal.$d]:-}" ] &&
		echo "$d ${st[vmseal.$d]} ${st[qemu-img.$d]:-null null null}" >>"$CHAIN_RAW"
	json_rows+="$sep{\"depth\":$d,\"vmseal_ms\":$(jcell vmseal "$d"),\"qemu_img_ms\":$(jcell qemu-img "$d"),\"floor_ms\":$(jcell floor "$d")}"
	sep=","
done

echo
echo "per member, start-up taken out (least-squares slope over depths $DEPTHS):"
json_fit="" sep=""
for which in 2:median 1:min; do
	col=${which%%:*} name=${which#*:}
	v=$(fit "$col" vmseal) q=$(fit "$col" qemu-img) f=$(fit "$col" floor)
	if [ -z "$v" ] || [ -z "$f" ] || [ -z "$q" ]; then
		echo "  fit of the ${name}s: FAILED (a depth failed above)"
		json_fit+="$sep\"$name\":{\"failed\":true}"
		sep=","
		continue
	fi
	read -r vs vc <<<"$v"
	read -r qs qc <<<"$q"
	read -r fs _ <<<"$f"
	rf=$(awk -v a="$vs" -v b="$fs" 'BEGIN { printf "%.2f", a / b }')
	rq=$(awk -v a="$qs" -v b="$vs" 'BEGIN { printf "%.1f", a / b }')
	mf=$(awk -v r="$rf" 'BEGIN { print (r <= 1.3 ? "met" : "NOT met") }')
	mq=$(awk -v r="$rq" 'BEGIN { print (r >= 30 ? "met" : "NOT met") }')
	printf '  %-7s vmseal %8.2f us (start-up %.2f ms) | floor %8.2f us | qemu-img %8.2f us (start-up %.2f ms)\n' \
		"$name:" "$vs" "$vc" "$fs" "$qs" "$qc"
	printf '          vmseal / floor %sx (goal <= 1.3: %s) | qemu-img / vmseal %sx (goal >= 30: %s)\n' \
		"$rf" "$mf" "$rq" "$mq"
	[ -n "${CHAIN_FIT:-}" ] && echo "$name $vs $fs $qs" >>"$CHAIN_FIT"
	json_fit+="$sep\"$name\":{\"vmseal_us\":$vs,\"vmseal_startup_ms\":$vc,\"floor_us\":$fs,\"qemu_img_us\":$qs,\"qemu_img_startup_ms\":$qc,\"vmseal_over_floor\":$rf,\"qemu_img_over_vmseal\":$rq}"
	sep=","
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "cpu: $cpu; $(nproc) CPUs; load average $load; $REPS rounds"
f=$out_dir/chain-$(date -u +%Y%m%dT%H%M%SZ).json
printf '{"cpu":"%s","cpus":%s,"loadavg":"%s","reps":%s,"depths":[%s],"per_member":{%s}}\n' \
	"$cpu" "$(nproc)" "$load" "$REPS" "$json_rows" "$json_fit" >"$f"
echo "written: $f" >&2
