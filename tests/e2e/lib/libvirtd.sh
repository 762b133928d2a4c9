# SPDX-License-Identifier: GPL-2.0-or-later
# A private libvirtd for e2e tests: root's qemu:///system driver (QEMU as
# libvirt-qemu, DAC labels) in a mount namespace of its own, where
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and
# /var/log/libvirt are directories under $LV_DIR, so is /run/vmseal
# ($LV_VMSEAL: a wrapped guest's runtime directory, RUN/wrap/UID/NAME as
# libvirt's qemu user, is $LV_VMSEAL/wrap/UID/NAME outside; the real
# /run/vmseal is created, empty, if missing, as vmseal run would), and
# /sys/fs/cgroup is an empty tmpfs (no cgroup is created on the host).  The host's libvirt
# state, its daemons, /dev/kvm and every system directory stay as they
# were.  No virtlogd: domain logs are plain files (stdio_handler = file).
#
# Killed with SIGKILL, a run leaves its daemon, the domains it started
# and $LV_DIR behind: the next libvirtd_start ends every process of that
# namespace (they are ours: nothing else can be in it) and removes the
# directory, from the record in $LV_STATE.
#
# With LV_OVERLAY=1, /usr, /etc and /var of the namespace are overlays
# whose changes live in a tmpfs of the namespace: software installed there
# (lv_exec dpkg -i ...) is seen by that libvirtd and its domains only, and
# vanishes with the namespace, however the test ends.
#
# Source after tests/e2e/lib/common.sh and e2e_setup.
#   libvirtd_start        starts it (1 and a reason in $LV_WHY if it cannot)
#   lv_virsh ARGS...      virsh on its socket (LV_VIRSH: the same, an array)
#   LV_RUN, LV_LIB, LV_LOG  /run/libvirt, /var/lib/libvirt, /var/log/libvirt
#                           as the host sees them
#   lv_exec CMD...        CMD inside its mount namespace
#   libvirtd_stop         destroys its domains and ends it (also on EXIT)

LV_STATE=${LV_STATE:-${TMPDIR:-/tmp}/vmseal-e2e-libvirtd.state}
LV_DIR=
LV_PID=
LV_WHY=

# Ends what a killed run left: "OWNER PID NS DIR" lines in $LV_STATE
# whose OWNER (the test's shell) is gone; a running test's line stays.
_lv_reap_stale() {
	local owner pid ns dir p
	[ -f "$LV_STATE" ] || return 0
	while read -r owner pid ns dir; do
		[ -n "$dir" ] || continue
		if kill -0 "$owner" 2>/dev/null; then
			echo "$owner $pid $ns $dir"
			continue
		fi
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
		case $dir in
		*/vmseal-lv.*) rm -rf "$dir" ;;
		esac
	done <"$LV_STATE" >"$LV_STATE.$$"
	mv -f "$LV_STATE.$$" "$LV_STATE"
	[ -s "$LV_STATE" ] || rm -f "$LV_STATE"
}

_lv_record() {
	echo "$$ $LV_PID $(readlink "/proc/$LV_PID/ns/mnt") $LV_DIR" >>"$LV_STATE"
}

lv_exec() {
	nsenter -t "$LV_PID" -m -- "$@"
}

lv_virsh() {
	"${LV_VIRSH[@]}" "$@"
}

libvirtd_start() {
	local i
	_lv_reap_stale
	if [ "$(id -u)" != 0 ]; then
		LV_WHY="root needed for a private system-mode libvirtd"
		return 1
	fi
	if ! command -v unshare >/dev/null || [ ! -x /usr/sbin/libvirtd ]; then
		LV_WHY="libvirtd or unshare is not installed (make deps)"
		return 1
	fi
	# Outside $E2E_TMP: a stale one must outlive a killed test's tmp.
	LV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vmseal-lv.XXXXXX") || return 1
	chmod 755 "$LV_DIR"
	LV_RUN=$LV_DIR/run LV_LIB=$LV_DIR/lib LV_LOG=$LV_DIR/log
	LV_VIRSH=(virsh -q -c "qemu:///system?socket=$LV_RUN/libvirt-sock")
	mkdir -p "$LV_DIR"/{etc,run,lib,cache,log,vmseal}
	LV_VMSEAL=$LV_DIR/vmseal
	mkdir -p /run/vmseal
	cp -a /etc/libvirt/. "$LV_DIR/etc/"
	# Nothing autostarts (no network, no dnsmasq).
	find "$LV_DIR/etc" -path '*/autostart/*' -delete
	cat >"$LV_DIR/etc/qemu.conf" <<-'EOF'
		stdio_handler = "file"
		cgroup_controllers = [ ]
		security_driver = "none"
	EOF
	printf 'unix_sock_group = "root"\nunix_sock_rw_perms = "0700"\n' \
		>"$LV_DIR/etc/libvirtd.conf"
	mkdir -p "$LV_LIB/qemu" "$LV_LOG/qemu" "$LV_RUN/qemu"
	chown libvirt-qemu: "$LV_LIB/qemu" 2>/dev/null
	unshare -m --propagation private -- sh -c '
		d=$1
		if [ "$2" = 1 ]; then
			mkdir -p "$d/ov" && mount -t tmpfs none "$d/ov" || exit 71
			for t in usr etc var; do
				mkdir -p "$d/ov/$t.u" "$d/ov/$t.w" &&
				mount -t overlay overlay -o "lowerdir=/$t,upperdir=$d/ov/$t.u,workdir=$d/ov/$t.w" "/$t" || exit 71
			done
		fi
		mount --bind "$d/etc" /etc/libvirt &&
		mount --bind "$d/run" /run/libvirt &&
		mount --bind "$d/lib" /var/lib/libvirt &&
		mount --bind "$d/cache" /var/cache/libvirt &&
		mount --bind "$d/log" /var/log/libvirt &&
		mount --bind "$d/vmseal" /run/vmseal &&
		mount -t tmpfs none /sys/fs/cgroup || exit 71
		exec /usr/sbin/libvirtd -p "$d/libvirtd.pid"' sh "$LV_DIR" "${LV_OVERLAY:-0}" \
		>"$LV_DIR/libvirtd.out" 2>&1 </dev/null &
	LV_PID=$!
	for i in $(seq 20); do
		[ "$(readlink "/proc/$LV_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.05
	done
	_lv_record
	trap 'libvirtd_stop; _e2e_cleanup' EXIT
	for i in $(seq 300); do
		kill -0 "$LV_PID" 2>/dev/null || break
		lv_virsh version >"$LV_DIR/version" 2>&1 && return 0
		sleep 0.1
	done
	LV_WHY="private libvirtd did not answer: $(tail -2 "$LV_DIR/libvirtd.out" "$LV_DIR/version" 2>/dev/null | tr '\n' ' ')"
	libvirtd_stop
	return 1
}

libvirtd_stop() {
	local dom ns p
	[ -n "$LV_PID" ] || return 0
	if kill -0 "$LV_PID" 2>/dev/null; then
		for dom in $(lv_virsh list --name 2>/dev/null); do
			timeout 30 "${LV_VIRSH[@]}" destroy "$dom" >/dev/null 2>&1
		done
		ns=$(readlink "/proc/$LV_PID/ns/mnt")
		e2e_stop_pid "$LV_PID"
		# Whatever is left in its namespace (a domain it lost).
		for p in /proc/[0-9]*; do
			[ -n "$ns" ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
	fi
	rm -rf "$LV_DIR"
	# This run's line goes; a concurrent run's stays.
	if [ -f "$LV_STATE" ]; then
		grep -v " $LV_DIR\$" "$LV_STATE" >"$LV_STATE.$$"
		mv -f "$LV_STATE.$$" "$LV_STATE"
		[ -s "$LV_STATE" ] || rm -f "$LV_STATE"
	fi
	LV_PID=
}

# The test domain: NAME, EMULATOR, IMAGE DIR holding the guest_chain
# top.qcow2 -> mid.qcow2 -> base.qcow2 (each member named with
# <backingStore>, as libvirt's tests do); any further arguments are more
# <devices> lines.  Printed on stdout.
lv_domain_xml() {
	local name=$1 emulator=$2 img=$3
	shift 3
	cat <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>$emulator</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$img/top.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='$img/mid.qcow2'/>
        <backingStore type='file'>
          <format type='qcow2'/>
          <source file='$img/base.qcow2'/>
          <backingStore/>
        </backingStore>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
XML
	local line
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
	printf '  </devices>\n</domain>\n'
}
