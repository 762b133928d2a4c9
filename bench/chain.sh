#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: time `vmseal chain --json` against `qemu-img info
# --backing-chain --output=json` on qcow2 chains of 1, 10, 100 and 1000
# members (one chain of 1000 made once; the chain of N is its top N),
# REPS runs each (min, median, max), and print the time per member and
# the ratio.  A benchmark, not a test: nothing here passes or fails on
# speed.  The table also goes to bench/out/chain-TIME.json.
set -u
VMSEAL=${1:-${VMSEAL:-$(dirname "$0")/../vmseal}}
REPS=${REPS:-10}
DEPTHS=${DEPTHS:-"1 10 100 1000"}
out_dir=$(dirname "$0")/out
mkdir -p "$out_dir"
t=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-bench.XXXXXX")
trap 'rm -rf "$t"' EXIT

max=0
for d in $DEPTHS; do [ "$d" -gt "$max" ] && max=$d; done
echo "making a $max-member qcow2 chain in $t ..." >&2
qemu-img create -q -f qcow2 "$t/d0.qcow2" 1M || exit 1
for ((i = 1; i < max; i++)); do
	# -u: no open of the chain below, so making it stays linear.
	qemu-img create -q -f qcow2 -u -F qcow2 -b "d$((i - 1)).qcow2" \
		"$t/d$i.qcow2" 1M || exit 1
done

# Timed with bash's own clock, EPOCHREALTIME (microseconds, read
# without a fork): a `date` process per reading would add its start-up,
# about a millisecond, to every figure on both sides and hide the faster
# side's time behind it.  LC_ALL=C keeps its decimal point a '.'.
export LC_ALL=C

# stats NS...: "min median max" in ms, from nanoseconds.
stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { printf "%.3f %.3f %.3f\n", v[1] / 1e6, v[int((NR + 1) / 2)] / 1e6, v[NR] / 1e6 }'
}

# run_times CMD...: REPS wall times in ns; "fail" when CMD failed.
run_times() {
	local i s e times=()
	for ((i = 0; i < REPS; i++)); do
		s=${EPOCHREALTIME/./}
		"$@" >/dev/null 2>"$t/err" || { echo fail; return; }
		e=${EPOCHREALTIME/./}
		times+=($(((e - s) * 1000)))
	done
	echo "${times[@]}"
}

json="[" sep=""
printf '%-6s | %-28s | %-10s | %-28s | %s\n' depth "vmseal ms (min med max)" "us/member" \
	"qemu-img ms (min med max)" "qemu-img / vmseal"
printf -- '-------+------------------------------+------------+------------------------------+------------------\n'
for d in $DEPTHS; do
	top=$t/d$((d - 1)).qcow2
	v=$(run_times "$VMSEAL" chain "$top" --format qcow2 --json --max-depth 4096)
	q=$(run_times qemu-img info --backing-chain --output=json "$top")
	if [ "$v" = fail ]; then
		echo "vmseal failed at depth $d: $(cat "$t/err")" >&2
		continue
	fi
	read -r vmin vmed vmax < <(stats $v)
	per=$(awk -v m="$vmed" -v d="$d" 'BEGIN { printf "%.1f", m * 1000 / d }')
	if [ "$q" = fail ]; then
		qs="failed: $(head -c 60 "$t/err" | tr '\n' ' ')"
		ratio=null qmin=null qmed=null qmax=null
	else
		read -r qmin qmed qmax < <(stats $q)
		qs="$qmin $qmed $qmax"
		ratio=$(awk -v a="$qmed" -v b="$vmed" 'BEGIN { printf "%.1f", a / b }')
	fi
	printf '%-6s | %-28s | %-10s | %-28s | %s\n' "$d" "$vmin $vmed $vmax" "$per" "$qs" "${ratio}x"
	# bench/run.sh reads these: depth, vmseal and qemu-img min/med/max ms.
	[ -n "${CHAIN_RAW:-}" ] && echo "$d $vmin $vmed $vmax $qs" >>"$CHAIN_RAW"
	json+="$sep{\"depth\":$d,\"reps\":$REPS,\"vmseal_ms\":{\"min\":$vmin,\"median\":$vmed,\"max\":$vmax},\"us_per_member\":$per,\"qemu_img_ms\":{\"min\":$qmin,\"median\":$qmed,\"max\":$qmax},\"ratio\":$ratio}"
	sep=","
done
json+="]"
f=$out_dir/chain-$(date -u +%Y%m%dT%H%M%SZ).json
echo "$json" >"$f"
echo "written: $f" >&2
