#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: what vmseal costs, every figure a ratio against a baseline
# measured in the same run, min/median/max over REPS runs (10 by
# default).  One table on stdout, JSON in bench/out/.  A benchmark, not a
# test: nothing fails on speed; a missed goal is marked so.  The load
# average at the start and the end is printed and kept in the JSON: the
# machine may be shared, and the medians move with it.
#   bench/run.sh BUILD_DIR   (BUILD_DIR/vmseal, BUILD_DIR/bench/*)
# BENCH_ONLY=launch,deny,broker,chain,gate runs only those sections;
# JOB_REPS= the rounds of each block job (40 by default).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$root/build-bench}
VMSEAL=$B/vmseal
LAUNCH=$B/bench/bench_launch
BROKER=$B/bench/bench_broker
EXEC=$B/bench/bench_exec
FLOOR=$B/bench/bench_seal_floor
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
REPS=${REPS:-20}
JOB_REPS=${JOB_REPS:-40}
only=${BENCH_ONLY:-launch,deny,broker,chain,gate}
want() { [[ ",$only," == *",$1,"* ]]; }
for s in ${only//,/ }; do
	case $s in
	launch | deny | broker | chain | gate) ;;
	*) echo "bench: BENCH_ONLY: no section '$s' (launch, deny, broker, chain, gate)" >&2; exit 2 ;;
	esac
done
USER_=${BENCH_USER:-nobody}
out_dir=$root/bench/out
mkdir -p "$out_dir"

QMPB=$B/bench/bench_qmp
for f in "$VMSEAL" "$LAUNCH" "$BROKER" "$EXEC" "$QMPB" "$root/build/tests/probes/standin_exit" "$QEMU"; do
	[ -x "$f" ] || { echo "bench: $f missing (make bench builds it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root (vmseal drops to $USER_)" >&2; exit 1; }

t=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-bench.XXXXXX")
chmod 755 "$t"
export VMSEAL_RUN_DIR=$t/run
trap 'rm -rf "$t" ${shm:+"$shm"}' EXIT

# stats V...: "min median max" of numbers.
stats() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { printf "%.3f %.3f %.3f\n", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
field() { # KEY LINE: the value of KEY=... in a bench_launch line
	sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"
}

rows=()	# "figure|unit|vmseal min med max|baseline min med max|ratio|goal|met"
add_row() { # FIGURE UNIT VSTATS BSTATS RATIO GOAL MET
	rows+=("$1|$2|$3|$4|$5|$6|$7")
}
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
meets() { awk -v r="$1" -v g="$2" -v op="$3" 'BEGIN {
	if (op == "le") print (r <= g ? "yes" : "NO"); else print (r >= g ? "yes" : "NO") }'; }
# ratios VS BS: "R med, R min" of two "min median max".
ratios() {
	echo "$(ratio_of "$(cut -d' ' -f2 <<<"$1")" "$(cut -d' ' -f2 <<<"$2")") med, $(ratio_of "${1%% *}" "${2%% *}") min"
}
# boot_ci "V..." "B...": "LO HI", where 95 % of the ratios of medians
# fall when both sides' runs are resampled (2000 times, a fixed seed): how
# far the median ratio of this many rounds moves on this machine by
# chance alone.  The median is stats' own (the lower one).
boot_ci() {
	awk -v a="$1" -v b="$2" '
	function med(x, n,   i, j, t) {
		for (i = 2; i <= n; i++) {
			t = x[i]
			for (j = i - 1; j >= 1 && x[j] > t; j--)
				x[j + 1] = x[j]
			x[j + 1] = t
		}
		return x[int((n + 1) / 2)]
	}
	BEGIN {
		srand(13); na = split(a, A, " "); nb = split(b, B, " ")
		for (r = 1; r <= 2000; r++) {
			for (i = 1; i <= na; i++) X[i] = A[int(rand() * na) + 1]
			for (i = 1; i <= nb; i++) Y[i] = B[int(rand() * nb) + 1]
			R[r] = med(X, na) / med(Y, nb)
		}
		med(R, 2000)
		printf "%.3f %.3f\n", R[50], R[1951]
	}'
}
# verdict LO HI GOAL: yes when the whole interval is within the goal, NO
# when the whole interval is beyond it; else this run cannot tell.
verdict() {
	if [ "$(meets "$2" "$3" le)" = yes ]; then
		echo yes
	elif [ "$(meets "$1" "$3" le)" = NO ]; then
		echo NO
	else
		echo unresolved
	fi
}

# --- the guest: a 3-level chain of 256 MiB, every layer written ---------
echo "bench: making a 3-level 256 MiB chain ..." >&2
img=$t/images
mkdir -p "$img"
(
	cd "$img" || exit 1
	qemu-img create -q -f qcow2 base.qcow2 256M &&
		qemu-io -f qcow2 -c 'write -P 0x11 0 128M' base.qcow2 >/dev/null &&
		qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 mid.qcow2 &&
		qemu-io -f qcow2 -c 'write -P 0x22 128M 64M' mid.qcow2 >/dev/null &&
		qemu-img create -q -f qcow2 -F qcow2 -b mid.qcow2 top.qcow2 &&
		qemu-io -f qcow2 -c 'write -P 0x33 192M 64M' top.qcow2 >/dev/null
) || { echo "bench: cannot make the chain" >&2; exit 1; }
# The baseline opens them by path as the guest's user; vmseal needs not.
chown -R "$USER_" "$img"

args="-machine pc -accel tcg -m 128 -nodefaults -display none -S"
sandbox="on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
cat >"$t/guest.ini" <<EOF
[vmseal]
version = 1
name = bench
[emulator]
binary = $QEMU
args = $args
args = -qmp unix:$t/run/bench/qmp.sock,server=on,wait=off
[sandbox]
user = $USER_
[chain]
record = none
[disk root]
image = $img/top.qcow2
format = qcow2
device = none
EOF
mkdir -p "$t/bare"
chown "$USER_" "$t/bare"
hmp='qemu-io root \"read 0 256M\"'

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# The sections are not indented under their want: their here-documents
# are files whose lines must start at the margin.
if want launch; then
# What confines the guest: the launch figure is meant with the jail and
# Landlock's fast path for read-only opens on (vmseal check says).
layers=$("$VMSEAL" check "$t/guest.ini" 2>/dev/null |
	sed -n 's/^\(jail: [a-z]*\).*/\1/p; s/^read-only opens: answered by the kernel.*/read-only opens in the kernel (Landlock fast path)/p' |
	paste -sd ',' - | sed 's/,/, /g')
echo "bench: guest launch and sequential read, $REPS runs each ($layers) ..." >&2
vl=() bl=() vr=() br=() rss=()
launch_vmseal() {
	line=$("$LAUNCH" "$t/run/bench/qmp.sock" --hmp "$hmp" -- \
		"$VMSEAL" run "$t/guest.ini" 2>>"$t/vmseal.err")
	vl+=("$(field launch_ms "$line")") vr+=("$(field hmp_ms "$line")")
	rss+=("$(field rss_kb "$line")")
}
# The baseline: the same QEMU command line (with -sandbox) opening the
# chain by path, as the same user, without vmseal.
launch_bare() {
	line=$("$LAUNCH" "$t/bare/qmp.sock" --hmp "$hmp" -- \
		/usr/bin/setpriv --reuid="$(id -u "$USER_")" --regid="$(id -g "$USER_")" --clear-groups \
		"$QEMU" $args -sandbox "$sandbox" \
		-qmp "unix:$t/bare/qmp.sock,server=on,wait=off" \
		-blockdev "driver=file,node-name=f0,filename=$img/top.qcow2" \
		-blockdev driver=qcow2,node-name=root,file=f0 2>>"$t/bare.err")
	bl+=("$(field launch_ms "$line")") br+=("$(field hmp_ms "$line")")
}
for ((i = 0; i < REPS; i++)); do
	# Alternating, and the side that goes first too, so drift in the
	# machine's load and what one run leaves behind hit both sides.
	if ((i % 2 == 0)); then
		launch_vmseal
		launch_bare
	else
		launch_bare
		launch_vmseal
	fi
done
vs=$(stats "${vl[@]}") bs=$(stats "${bl[@]}")
read -r lo hi < <(boot_ci "${vl[*]}" "${bl[*]}")
add_row "launch to QMP query-status, broker, 3-level chain ($layers)" ms "$vs" "$bs" \
	"$(ratios "$vs" "$bs"), chance alone moves the median ratio within $lo-$hi (95 %)" \
	"<= 1.03 (median)" "$(verdict "$lo" "$hi" 1.03)"
vs=$(stats "${vr[@]}") bs=$(stats "${br[@]}")
r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
add_row "qemu-io read 0 256M through the chain (HMP)" ms "$vs" "$bs" "$r" "<= 1.02" "$(meets "$r" 1.02 le)"
rs=$(stats "${rss[@]}")
maxrss=$(cut -d' ' -f3 <<<"$rs")
add_row "vmseal supervisor peak RSS during a run" KiB "$rs" "-" "-" "< 4096" \
	"$(awk -v m="$maxrss" 'BEGIN { print (m < 4096 ? "yes" : "NO") }')"
fi # launch

# --- policy = deny: what vmseal adds to one exec --------------------------
if want deny; then
# The baseline is a direct exec of the same static stand-in
# (tests/probes/standin_exit: reads its descriptors' first bytes, exits);
# setpriv (uid drop, no capabilities, NO_NEW_PRIVS) and bubblewrap (a user
# namespace uid, capabilities dropped, vmseal's own deny program through
# --seccomp) are peers doing comparable work, shown beside vmseal, not
# the baseline.  bench_seal_floor is the floor of the sealing itself:
# the steps a deny launch cannot leave out (namespaces, an empty root,
# the uid drop, Landlock, the precompiled filter, the exec) in a program
# linked against the same shared libraries, with nothing else (no config,
# chain, runtime directory or checks).  Each run is timed from
# posix_spawn to the end of waitpid (bench_exec), all of them
# interleaved, 2*REPS rounds.
STANDIN=$root/build/tests/probes/standin_exit
cat >"$t/deny.ini" <<EOF
[vmseal]
version = 1
name = bench-deny
[emulator]
binary = $STANDIN
dialect = fdset
[sandbox]
policy = deny
user = $USER_
[chain]
record = none
[disk root]
image = $img/top.qcow2
format = qcow2
device = none
EOF
echo "bench: policy = deny, static stand-in, $((2 * REPS)) interleaved runs ..." >&2
"$VMSEAL" filter --policy deny --bpf >"$t/deny.bpf"
uid=$(id -u "$USER_") gid=$(id -g "$USER_")
peers=(:: floor "$FLOOR" "$uid" "$gid" "$t/deny.bpf" "$STANDIN"
	:: loading "$FLOOR" --exit
	:: setpriv /usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups
	--inh-caps=-all --bounding-set=-all --no-new-privs "$STANDIN")
if command -v bwrap >/dev/null; then
	peers+=(:: bwrap --fd=10:"$t/deny.bpf" "$(command -v bwrap)" --bind / /
		--unshare-user --uid "$uid" --gid "$gid" --cap-drop ALL
		--seccomp 10 "$STANDIN")
fi
# vmseal creates and removes five files a launch in its runtime
# directory (lock, pid files, registrations, control socket): on tmpfs,
# where /run is on a normal host, and on $TMPDIR's filesystem, where it
# is on this kind of VM, creating one costs 0.1-0.3 ms (ext4: journal).
shm=
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	shm=$(mktemp -d /dev/shm/vmseal-bench.XXXXXX) && chmod 755 "$shm"
fi
tmp_fs=$(stat -f -c %T "$t")
runs=(:: vmseal "$VMSEAL" run "$t/deny.ini")
[ -n "$shm" ] && runs=(:: vmseal --env=VMSEAL_RUN_DIR="$shm/run" "$VMSEAL" run "$t/deny.ini"
	:: vmseal_disk "$VMSEAL" run "$t/deny.ini")
"$EXEC" $((2 * REPS)) direct "$STANDIN" "${runs[@]}" \
	"${peers[@]}" >"$t/exec.out" 2>"$t/exec.err"
[ -n "$shm" ] && rm -rf "$shm"
# exec_row LABEL FIGURE GOAL [BASE]: one of them against BASE (the
# direct exec by default).
exec_row() {
	local v d goal=$3 met="-" add
	v=$(awk -v l="$1" '$1 == l { $1 = ""; print substr($0, 2) }' "$t/exec.out")
	d=$(awk -v l="${4:-direct}" '$1 == l { print $2, $3, $4 }' "$t/exec.out")
	if [ -z "$v" ] || [ "${v%% *}" = FAILED ] || [ -z "$d" ]; then
		add_row "$2" ms "FAILED ${v:-(no result: $(head -c 200 "$t/exec.err"))}" \
			"${d:-FAILED}" "-" "$goal" "NO"
		return
	fi
	add=$(awk -v a="$(cut -d' ' -f2 <<<"$v")" -v b="$(cut -d' ' -f2 <<<"$d")" \
		'BEGIN { printf "%.3f", a - b }')
	[ "$goal" != "-" ] && met=$(meets "$add" 1.0 le)
	add_row "$2 (adds $add ms at the median)" ms "$v" "$d" \
		"$(ratio_of "$(cut -d' ' -f2 <<<"$v")" "$(cut -d' ' -f2 <<<"$d")") med, $(ratio_of "${v%% *}" "${d%% *}") min" \
		"$goal" "$met"
}
if [ -n "$shm" ]; then
	exec_row vmseal "deny: vmseal run of a static stand-in vs its direct exec, runtime directory on tmpfs" "adds <= 1.0 ms (median)"
	exec_row vmseal_disk "  the same, runtime directory on $tmp_fs (\$TMPDIR)" "-"
else
	exec_row vmseal "deny: vmseal run of a static stand-in vs its direct exec, runtime directory on $tmp_fs" "adds <= 1.0 ms (median)"
fi
exec_row floor "floor: the sealing steps alone (bench_seal_floor: namespaces, empty root, uid drop, Landlock, the filter, exec) vs direct exec" "-"
exec_row loading "  of it: a program linked as vmseal is, started and ended (bench_seal_floor --exit), vs direct exec" "-"
if [ -n "$shm" ]; then
	exec_row vmseal "  vmseal run (runtime directory on tmpfs) vs that floor" "-" floor
else
	exec_row vmseal "  vmseal run vs that floor" "-" floor
fi
exec_row setpriv "peer: setpriv (uid drop, no caps, NO_NEW_PRIVS) vs direct exec" "-"
if command -v bwrap >/dev/null; then
	exec_row bwrap "peer: bwrap (userns uid, caps dropped, the same seccomp program) vs direct exec" "-"
else
	add_row "peer: bwrap vs direct exec" ms "FAILED bwrap is not installed (apt-get install bubblewrap)" "-" "-" "-" "-"
fi

fi # deny

# --- the broker and the filter, from inside --------------------------------
if want broker; then
echo "bench: broker round trip and filtered getpid, $REPS runs ..." >&2
om=() op=() pm=() pp=() km=() ka=() gf=() gp=()
for ((i = 0; i < REPS; i++)); do
	"$BROKER" 10000 1000000 >"$t/broker.out" || break
	read -r _ a b < <(grep '^open_broker_us' "$t/broker.out"); om+=("$a") op+=("$b")
	read -r _ a b < <(grep '^open_plain_us' "$t/broker.out"); pm+=("$a") pp+=("$b")
	read -r _ a _ < <(grep '^notify_send_us' "$t/broker.out"); km+=("$a")
	read -r _ a _ < <(grep '^notify_addfd_us' "$t/broker.out"); ka+=("$a")
	gf+=("$(awk '/^getpid_filtered_ns/ { print $2 }' "$t/broker.out")")
	gp+=("$(awk '/^getpid_plain_ns/ { print $2 }' "$t/broker.out")")
done
vs=$(stats "${om[@]}") bs=$(stats "${pm[@]}")
r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
add_row "broker round trip per open, median" us "$vs" "$bs" "$r" "<= 15" "$(meets "$r" 15 le)"
vs=$(stats "${op[@]}") bs=$(stats "${pp[@]}")
r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
add_row "broker round trip per open, p99" us "$vs" "$bs" "$r" "-" "-"
# Its floor: the kernel's round trip for a reply that carries an fd
# (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND), measured
# with a bare supervisor that does no work; what the broker adds on top
# is its own work.  Then that fd reply against a plain one
# (SECCOMP_IOCTL_NOTIF_SEND): both ask for synchronous wake-ups, only
# the plain reply gets one.
vs=$(stats "${om[@]}") bs=$(stats "${ka[@]}")
r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
add_row "broker round trip per open, median, against a bare supervisor's fd reply (kernel only)" us "$vs" "$bs" "$r" "(analysis)" "-"
vs=$(stats "${ka[@]}") bs=$(stats "${km[@]}")
r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
add_row "bare supervisor, median: fd reply (ADDFD+SEND) against plain reply (NOTIF_SEND)" us "$vs" "$bs" "$r" "(analysis)" "-"
# The same with the placement fixed: broker and caller on one CPU (what
# is left is the broker's own work and the kernel's round trip), then on
# two CPUs (every wake-up crosses): each against a bare supervisor's fd
# reply placed the same way, so the difference is the broker's own work.
for mode in one cross; do
	oc=() pc=() kc=()
	for ((i = 0; i < REPS; i++)); do
		"$BROKER" 10000 1000 --$mode-cpu >"$t/broker1.out" 2>&1 || break
		read -r _ a _ < <(grep '^open_broker_us' "$t/broker1.out"); oc+=("$a")
		read -r _ a _ < <(grep '^open_plain_us' "$t/broker1.out"); pc+=("$a")
		read -r _ a _ < <(grep '^notify_addfd_us' "$t/broker1.out"); kc+=("$a")
	done
	where="broker and caller on one CPU"
	[ $mode = cross ] && where="broker and caller on different CPUs"
	if [ ${#oc[@]} -lt "$REPS" ]; then
		add_row "broker round trip per open, median, $where" us \
			"FAILED $(head -c 200 "$t/broker1.out")" "-" "-" "(analysis)" "-"
		continue
	fi
	vs=$(stats "${oc[@]}") bs=$(stats "${pc[@]}")
	r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
	add_row "broker round trip per open, median, $where" us "$vs" "$bs" "$r" "(analysis)" "-"
	bs=$(stats "${kc[@]}")
	own=$(awk -v a="$(cut -d' ' -f2 <<<"$vs")" -v b="$(cut -d' ' -f2 <<<"$bs")" \
		'BEGIN { printf "%.3f", a - b }')
	r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
	add_row "  the same against a bare supervisor's fd reply, $where (the broker's own work: $own us)" us "$vs" "$bs" "$r" "(analysis)" "-"
done
vs=$(stats "${gf[@]}") bs=$(stats "${gp[@]}")
r=$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")
add_row "getpid under the filter" ns "$vs" "$bs" "$r" "<= 1.3" "$(meets "$r" 1.3 le)"

fi # broker

# --- chain resolution against qemu-img and the syscall floor --------------
if want chain; then
echo "bench: chain resolution (bench/chain.sh) ..." >&2
: >"$t/chain.raw"
: >"$t/chain.fit"
CHAIN_RAW=$t/chain.raw CHAIN_FIT=$t/chain.fit REPS=$REPS \
	"$root/bench/chain.sh" "$VMSEAL" "$B/bench/bench_chain_floor" >"$t/chain.out"
while read -r d vmin vmed vmax qmin qmed qmax; do
	r=$(ratio_of "$qmed" "$vmed")
	add_row "chain of $d: vmseal chain vs qemu-img info (x faster)" ms \
		"$vmin $vmed $vmax" "$qmin $qmed $qmax" "$r" "-" "-"
done <"$t/chain.raw"
# Per member, start-up taken out (a fit over the depths): against the
# floor and against qemu-img, on medians and on minima.
while read -r which vs fs qs; do
	r=$(ratio_of "$vs" "$fs")
	add_row "chain per member ($which fit): vmseal vs syscall floor" us \
		"$vs $vs $vs" "$fs $fs $fs" "$r" "<= 1.3" "$(meets "$r" 1.3 le)"
	r=$(ratio_of "$qs" "$vs")
	add_row "chain per member ($which fit): qemu-img vs vmseal (x faster)" us \
		"$vs $vs $vs" "$qs $qs $qs" "$r" ">= 30" "$(meets "$r" 30 ge)"
done <"$t/chain.fit"
grep -q FAILED "$t/chain.out" && add_row "chain resolution" - "FAILED: $(grep -m1 -o 'FAILED.*' "$t/chain.out")" "-" "-" "-" "-"

fi # chain

# --- the monitor gate: added latency, and block jobs through it ------------
if want gate; then
echo "bench: monitor gate: query-status round trips and 256 MiB block jobs ..." >&2
gimg=$t/gate-images
# A fresh copy of the 3-level 256 MiB chain in $gimg (its backing names
# are relative), the same for both sides: every layer just written, all
# of it in the page cache, none of it written back.  Nothing writes it
# back later either: the emulator is killed with SIGKILL after its job
# (SIGTERM would have QEMU flush the 256 MiB it wrote) and the copy is
# removed within seconds, long before the flusher's 30 s.  (qemu-io
# wrote the originals back when it made them.)
gate_chain() {
	rm -rf "$gimg" && mkdir -p "$gimg" && cp "$img"/*.qcow2 "$gimg"/ &&
		chown -R "$USER_" "$gimg"
}
cat >"$t/gb.ini" <<INI
[vmseal]
version = 1
name = gb
[emulator]
binary = $QEMU
args = -machine pc -accel tcg -m 64 -nographic -nodefaults -S
args = -qmp unix:$t/run/gb/qmp.sock,server=on,wait=off
[sandbox]
user = $USER_
[chain]
record = none
[disk root]
image = $gimg/top.qcow2
format = qcow2
device = none
INI
# Both sides wait for their sockets the same way and then settle for the
# same 0.2 s before anything is timed.
wait_sockets() {
	local s ok
	for _ in $(seq 200); do
		ok=1
		for s in "$@"; do [ -S "$s" ] || ok=; done
		[ -n "$ok" ] && break
		sleep 0.05
	done
	sleep 0.2
}
gate_up() { # starts gb under vmseal; its pid in gpid
	"$VMSEAL" run "$t/gb.ini" >/dev/null 2>"$t/gb.err" &
	gpid=$!
	wait_sockets "$t/run/gb/monitor.sock" "$t/run/gb/qmp.sock"
}
gate_down() { # QEMU (its pid, if known, in $1) killed, then vmseal
	[ -n "${1:-}" ] && kill -KILL "$1" 2>/dev/null
	kill "$gpid" 2>/dev/null
	wait "$gpid" 2>/dev/null
}
# QEMU's pid under vmseal, then vmseal's own processes (supervisor, broker).
gate_pids() {
	local c q= o=$gpid comm
	comm=$(basename "$QEMU" | cut -c1-15)
	for c in $(pgrep -P "$gpid"); do
		if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$comm" ]; then q=$c; else o+=" $c"; fi
	done
	[ -n "$q" ] && echo "$q $o"
}
# The same chain, QEMU alone, opening each image by path, as the same
# user, without -sandbox: QEMU as an administrator would run it, so what
# vmseal adds (its filter, QEMU's -sandbox it turns on, the broker, the
# jail, the gate) is all on the vmseal side.
plain_up() {
	/usr/bin/setpriv --reuid="$(id -u "$USER_")" --regid="$(id -g "$USER_")" --clear-groups \
		"$QEMU" -machine pc -accel tcg -m 64 -nographic -nodefaults -S \
		-qmp "unix:$t/bare/plain.sock,server=on,wait=off" \
		-blockdev "driver=file,node-name=vs0f2,filename=$gimg/base.qcow2,auto-read-only=on" \
		-blockdev "driver=qcow2,node-name=vs0b2,file=vs0f2,read-only=on" \
		-blockdev "driver=file,node-name=vs0f1,filename=$gimg/mid.qcow2,auto-read-only=on" \
		-blockdev "driver=qcow2,node-name=vs0b1,file=vs0f1,read-only=on,backing=vs0b2" \
		-blockdev "driver=file,node-name=vs0f0,filename=$gimg/top.qcow2" \
		-blockdev "driver=qcow2,node-name=root,file=vs0f0,backing=vs0b1" \
		>/dev/null 2>"$t/plain.err" &
	ppid=$!
	wait_sockets "$t/bare/plain.sock"
}
plain_down() {
	kill -KILL "$ppid" 2>/dev/null
	wait "$ppid" 2>/dev/null
	rm -f "$t/bare/plain.sock"
}
gate_chain
gate_up
gv=() gb=()
for ((i = 0; i < REPS; i++)); do
	gv+=("$("$QMPB" "$t/run/gb/monitor.sock" rtt 2000 | awk '$1 == "rtt_us" { print $2 }')")
	gb+=("$("$QMPB" "$t/run/gb/qmp.sock" rtt 2000 | awk '$1 == "rtt_us" { print $2 }')")
done
gate_down
if [ -n "${gv[0]}" ] && [ -n "${gb[0]}" ]; then
	vs=$(stats "${gv[@]}") bs=$(stats "${gb[@]}")
	add=$(awk -v a="$(cut -d' ' -f2 <<<"$vs")" -v b="$(cut -d' ' -f2 <<<"$bs")" \
		'BEGIN { printf "%.1f", a - b }')
	add_row "gate: query-status round trip, median of 2000 (adds $add us) vs QEMU's own -qmp socket" us \
		"$vs" "$bs" "$(ratio_of "$(cut -d' ' -f2 <<<"$vs")" "$(cut -d' ' -f2 <<<"$bs")")" \
		"adds < 50 us" "$(meets "$add" 50 le)"
else
	add_row "gate: query-status round trip" us "FAILED $(head -c 200 "$t/gb.err")" "-" "-" "adds < 50 us" "NO"
fi
# job_run SIDE JSON: one job on a fresh copy of the chain; appends
# "SIDE job_ms E qemu_ms Q cpu_ms C wait_ms W other_ms O" to $t/jobs.raw.
job_run() {
	local r pids
	gate_chain || return 1
	if [ "$1" = vmseal ]; then
		gate_up
		pids=$(gate_pids)
		r=$("$QMPB" "$t/run/gb/monitor.sock" job "$2" $pids)
		gate_down "${pids%% *}"
	else
		plain_up
		r=$("$QMPB" "$t/bare/plain.sock" job "$2" "$ppid")
		plain_down
	fi
	echo "$1 $r" >>"$t/jobs.raw"
	[ "${r%% *}" = job_ms ]
}
# col SIDE KEY: that figure of every round of SIDE.
col() { awk -v s="$1" -v k="$2" '$1 == s { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' "$t/jobs.raw"; }
# A job: under vmseal through the gate, and QEMU alone by path, each on a
# fresh copy of the chain; JOB_REPS rounds, the side that goes first
# alternating, so drift in the machine's load and whatever one run leaves
# behind (page cache, freed memory) hit both sides alike.
job_rows() { # NAME JSON
	local i ok=1 l0 l1 vs bs w lo hi met
	: >"$t/jobs.raw"
	l0=$(cut -d' ' -f1 /proc/loadavg)
	for ((i = 0; i < JOB_REPS; i++)); do
		if ((i % 2 == 0)); then
			job_run vmseal "$2" && job_run qemu "$2" || { ok=; break; }
		else
			job_run qemu "$2" && job_run vmseal "$2" || { ok=; break; }
		fi
	done
	l1=$(cut -d' ' -f1 /proc/loadavg)
	if [ -z "$ok" ]; then
		add_row "gate: $1" ms "FAILED $(grep -v ' job_ms ' "$t/jobs.raw" | head -c 200)" "-" "-" "<= 1.02 (median)" "NO"
		return
	fi
	[ -n "${JOB_RAW:-}" ] && { echo "# $1"; cat "$t/jobs.raw"; } >>"$JOB_RAW"
	vs=$(stats $(col vmseal job_ms)) bs=$(stats $(col qemu job_ms))
	read -r lo hi < <(boot_ci "$(col vmseal job_ms)" "$(col qemu job_ms)")
	met=$(verdict "$lo" "$hi" 1.02)
	add_row "gate: $1, vmseal (descriptors) vs QEMU alone (by path), $JOB_REPS alternating rounds, load $l0 to $l1" \
		ms "$vs" "$bs" "$(ratios "$vs" "$bs"), chance alone moves the median ratio within $lo-$hi (95 %)" \
		"<= 1.02 (median)" "$met"
	# Where the time goes: the job as QEMU timed it (its events), the
	# way to the monitor and back (the rest), QEMU's CPU time, and the
	# CPU time of vmseal's own processes meanwhile.
	vs=$(stats $(col vmseal qemu_ms)) bs=$(stats $(col qemu qemu_ms))
	add_row "  the same job as QEMU timed it (its events' timestamps)" ms "$vs" "$bs" "$(ratios "$vs" "$bs")" "(analysis)" "-"
	vs=$(stats $(awk '$1 == "vmseal" { print $3 - $5 }' "$t/jobs.raw"))
	bs=$(stats $(awk '$1 == "qemu" { print $3 - $5 }' "$t/jobs.raw"))
	add_row "  the way to the monitor and back (elapsed minus QEMU's own)" ms "$vs" "$bs" "-" "(analysis)" "-"
	vs=$(stats $(col vmseal cpu_ms)) bs=$(stats $(col qemu cpu_ms))
	add_row "  QEMU's CPU time during the job, all its threads" ms "$vs" "$bs" "$(ratios "$vs" "$bs")" "(analysis)" "-"
	vs=$(stats $(col vmseal wait_ms)) bs=$(stats $(col qemu wait_ms))
	add_row "  QEMU's threads runnable, waiting for a CPU, during the job (summed over its threads)" ms "$vs" "$bs" "-" "(analysis)" "-"
	w=$(stats $(col vmseal other_ms))
	add_row "  CPU time of vmseal's own processes (gate, broker) during the job" ms "$w" "-" "-" "(analysis)" "-"
}
echo "bench: 256 MiB block jobs through the gate and by path, $JOB_REPS rounds each ..." >&2
job_rows "block-stream of a 256 MiB 3-level chain into its top" \
	'{"execute":"block-stream","arguments":{"device":"root","job-id":"j"}}'
job_rows "block-commit of a 256 MiB 3-level chain into its base (active, completed)" \
	'{"execute":"block-commit","arguments":{"device":"root","job-id":"j","top-node":"root","base-node":"vs0b2"}}'
fi # gate

# --- the table --------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
# How an idle CPU waits decides what waking it costs, and every broker
# round trip wakes one: a virtual machine whose idle vCPUs halt at once
# (guest_halt_poll_ns = 0) pays an exit to the hypervisor per wake-up.
idle=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo unknown)
hp=/sys/module/haltpoll/parameters/guest_halt_poll_ns
[ "$idle" = haltpoll ] && [ -r "$hp" ] && idle="$idle, guest_halt_poll_ns $(cat "$hp")"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nvmseal %s, %s, %d CPUs, %s, Linux %s, cpuidle %s; load average %s at the start, %s at the end; %d runs each; min / median / max\n\n' \
	"$("$VMSEAL" --version | cut -d' ' -f2)" "$cpu" "$(nproc)" \
	"$(free -g | awk '/^Mem:/ { print $2 " GiB" }')" "$(uname -r)" "$idle" \
	"$load_start" "$load_end" "$REPS"
printf '| %s | %s | %s | %s | %s | %s | %s |\n' figure unit vmseal baseline ratio goal met
printf '|---|---|---|---|---|---|---|\n'
json="{\"machine\":{\"cpu\":\"$cpu\",\"cpus\":$(nproc),\"kernel\":\"$(uname -r)\",\"cpuidle\":\"$idle\",\"loadavg_start\":\"$load_start\",\"loadavg_end\":\"$load_end\"},\"reps\":$REPS,\"job_reps\":$JOB_REPS,\"sections\":\"$only\",\"figures\":["
sep=""
for row in "${rows[@]}"; do
	IFS='|' read -r fig unit v b r goal met <<<"$row"
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$fig" "$unit" "$v" "$b" "$r" "$goal" "$met"
	json+="$sep{\"figure\":\"$fig\",\"unit\":\"$unit\",\"vmseal\":\"$v\",\"baseline\":\"$b\",\"ratio\":\"$r\",\"goal\":\"$goal\",\"met\":\"$met\"}"
	sep=","
done
json+="]}"
f=$out_dir/bench-$(date -u +%Y%m%dT%H%M%SZ).json
echo "$json" >"$f"
printf '\nwritten: %s\n' "$f"
