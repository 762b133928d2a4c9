# SPDX-License-Identifier: GPL-2.0-or-later
# vmseal build.  `make deps && make demo`, `make check`; see README.md.

VERSION := 0.1.0

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libseccomp libcap-ng libselinux inih json-c

WERROR ?= 1
SANITIZE ?=
O ?= build

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-fstack-protector-strong -fPIE -D_GNU_SOURCE \
	-DVMSEAL_VERSION='"$(VERSION)"' -I.
ifeq ($(WERROR),1)
BASE_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=$(SANITIZE)
else
BASE_CFLAGS += -D_FORTIFY_SOURCE=3
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread
# vmseal itself: the filter is compiled at build time, so no libseccomp;
# libselinux is loaded when SELinux is on (sandbox/selinux_dl.c).
RUN_PKGS := $(filter-out libseccomp libselinux,$(PKGS))
RUN_LIBS := $(shell $(PKG_CONFIG) --libs $(RUN_PKGS) 2>/dev/null) -lpthread
ALL_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(SAN_LDFLAGS) $(LDFLAGS)

# Core modules first; launcher/ sits on top and holds main().
MODULES := common conf chain sandbox launcher
LIB_SRCS := $(filter-out launcher/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
# The filter's programs, compiled once at build time from the rule table
# (sandbox/gen/filter_gen.c): vmseal loads them with seccomp(2).
FILTER_GEN_SRCS := sandbox/gen/filter_gen.c sandbox/policy.c \
	sandbox/policy_compile.c sandbox/policy_rules.c \
	sandbox/syscalls_x86_64.c common/err.c
FILTER_PROGS := $(O)/gen/filter_progs.c
LIB_OBJS += $(O)/obj/gen/filter_progs.o
MAIN_OBJ := $(O)/obj/launcher/main.o
# The default build is ./vmseal; other trees (O=build-asan) keep theirs.
BIN := $(if $(filter build,$(O)),vmseal,$(O)/vmseal)
LIB := $(O)/libvmseal.a

UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
TESTLIB_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/lib/*.c))
# Probes make forbidden syscalls for real: static, no sanitizers, so the
# kernel's answer is what they see and no loader opens come before them.
PROBE_SRCS := $(wildcard tests/probes/*.c)
PROBE_BINS := $(PROBE_SRCS:tests/probes/%.c=$(O)/tests/probes/%)
PROBE_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter \
	-D_GNU_SOURCE -static
ifeq ($(WERROR),1)
PROBE_CFLAGS += -Werror
endif
# Probe programs that speak TAP themselves (the others are stand-ins).
PROBE_TESTS := $(O)/tests/probes/selftest_static
E2E_SCRIPTS := $(sort $(wildcard tests/e2e/*.t))
# Helpers the e2e scripts drive (a QMP client); ordinary dynamic programs.
E2E_TOOL_SRCS := $(wildcard tests/e2e/tools/*.c)
E2E_TOOLS := $(E2E_TOOL_SRCS:tests/e2e/tools/%.c=$(O)/tests/e2e/%)

# Fuzz targets (tests/fuzz/fuzz_*.c): `make check` replays each one's
# corpus through a plain build; `make fuzz` builds them with clang's
# libFuzzer into build-fuzz/ and runs each for FUZZ_SECONDS.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_TARGETS:%=$(O)/tests/fuzz/replay_%)
FUZZ_SECONDS ?= 60
FUZZ_O := build-fuzz
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

DEB_DEPS := gcc make pkg-config libc6-dev libseccomp-dev libcap-ng-dev \
	libselinux1-dev libinih-dev libjson-c-dev qemu-system-x86 qemu-utils cpio strace \
	libvirt-daemon-system libvirt-clients mandoc bubblewrap \
	debhelper dpkg-dev lintian

# make install PREFIX=/usr/local DESTDIR=...
# SYSCONFDIR is not beneath PREFIX: the init script goes to
# SYSCONFDIR/init.d and the guest configs live in SYSCONFDIR/vmseal
# (both /etc by default, whatever PREFIX), as the unit and the init script
# are told; the wrapper reads /etc/vmseal/wrap.ini ($VMSEAL_WRAP_CONFIG).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/vmseal
MANDIR = $(PREFIX)/share/man
DOCDIR = $(PREFIX)/share/doc/vmseal
UNITDIR = $(PREFIX)/lib/systemd/system
WRAPPED_EMULATORS = qemu-system-x86_64

.PHONY: all deps demo check unit e2e test-bins clean analyze policy-test mutate \
	install uninstall fuzz bench deb
.SECONDARY: $(TESTLIB_OBJS)

all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(RUN_LIBS)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# A host tool: no sanitizer, whatever the build.
$(O)/gen/filter_gen: $(FILTER_GEN_SRCS) sandbox/policy.h conf/config.h common/err.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O1 -D_GNU_SOURCE -I. $(PKG_CFLAGS) -o $@ \
		$(FILTER_GEN_SRCS) $(PKG_LIBS)

$(FILTER_PROGS): $(O)/gen/filter_gen
	$(call msg,GEN,$@)
	$(Q)$< >$@.tmp && mv $@.tmp $@

$(O)/obj/gen/filter_progs.o: $(FILTER_PROGS)
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/tests/unit/%: tests/unit/%.c $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(LIB) \
		$(ALL_LDFLAGS) $(PKG_LIBS)

# The probe and broker-scenario code, built static and sanitizer-free too.
STATIC_PROBE_SRCS := sandbox/probe.c sandbox/policy.c sandbox/policy_rules.c \
	sandbox/syscalls_x86_64.c $(FILTER_PROGS) \
	sandbox/brokertest.c sandbox/session.c sandbox/broker.c \
	sandbox/allowlist.c $(wildcard common/*.c)
$(O)/tests/probes/selftest_static: tests/probes/selftest_static.c $(STATIC_PROBE_SRCS)
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(PROBE_CFLAGS) -I. -DVMSEAL_VERSION='"$(VERSION)"' -o $@ $^ \
		-l:libseccomp.a -lpthread

# The guest-against-guest attacks, shared with `vmseal selftest`.
$(O)/tests/probes/sibling_attack: tests/probes/sibling_attack.c sandbox/sibling.c sandbox/sibling.h
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(PROBE_CFLAGS) -I. -o $@ $(filter %.c,$^)

$(O)/tests/probes/%: tests/probes/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(PROBE_CFLAGS) -o $@ $<

$(O)/tests/e2e/%: tests/e2e/tools/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(PKG_LIBS)

$(O)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) $(TESTLIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -DFUZZ_TARGET='"$*"' \
		-DFUZZ_CORPUS='"$(abspath tests/fuzz/corpus/$*)"' -o $@ \
		tests/fuzz/replay.c $< $(TESTLIB_OBJS) $(LIB) $(ALL_LDFLAGS) $(PKG_LIBS)

test-bins: $(BIN) $(UNIT_BINS) $(PROBE_BINS) $(E2E_TOOLS) $(REPLAY_BINS)

# apt-get needs root: through sudo when make runs as another user.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

deps:
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_DEPS)
	$(MAKE) all

demo: $(BIN)
	VMSEAL=$(abspath $(BIN)) tests/e2e/demo.sh

# The e2e scripts find the build under test through these.
TEST_ENV = VMSEAL=$(abspath $(BIN)) E2E_BUILD=$(abspath $(O))

check: test-bins
	$(TEST_ENV) tests/run $(UNIT_BINS) $(REPLAY_BINS) $(PROBE_TESTS) \
		$(E2E_SCRIPTS)

unit: test-bins
	$(TEST_ENV) tests/run $(UNIT_BINS) $(REPLAY_BINS) $(PROBE_TESTS)

# Mutation testing: each mutant of tests/mutate/mutants.txt breaks one
# security check in a scratch copy of the tree; its tests must fail.
# Slow (see README, Tests); MUTATE_ONLY=REGEX runs some.
mutate:
	tests/mutate/run.sh

# The hardening policy tests alone, as a user would run them.
policy-test: $(BIN)
	./$(BIN) selftest

e2e: test-bins
	$(TEST_ENV) tests/run $(E2E_SCRIPTS)

# make bench: a release build of its own (build-bench/, -O2, no
# sanitizer), then every figure against its baseline measured in the same
# run (bench/run.sh): one table, and JSON in bench/out/.  REPS= to change
# the runs (20 by default), JOB_REPS= the gate's block job rounds (40),
# BENCH_ONLY=launch,deny,broker,chain,gate to run only those sections.
BENCH_O := build-bench
BENCH_TOOLS := $(BENCH_O)/bench/bench_launch $(BENCH_O)/bench/bench_broker \
	$(BENCH_O)/bench/bench_exec $(BENCH_O)/bench/bench_chain_floor \
	$(BENCH_O)/bench/bench_qmp $(BENCH_O)/bench/bench_seal_floor

$(BENCH_O)/bench/bench_launch: bench/tools/bench_launch.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

$(BENCH_O)/bench/bench_exec: bench/tools/bench_exec.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

$(BENCH_O)/bench/bench_chain_floor: bench/tools/bench_chain_floor.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

$(BENCH_O)/bench/bench_qmp: bench/tools/bench_qmp.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $<

# Linked as vmseal is (PIE, full RELRO, the same shared libraries, kept
# though it calls none of them): the floor pays vmseal's loading too.
$(BENCH_O)/bench/bench_seal_floor: bench/tools/bench_seal_floor.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o $@ $< \
		-pie -Wl,-z,relro,-z,now -Wl,--no-as-needed $(RUN_LIBS)

$(BENCH_O)/bench/bench_broker: bench/tools/bench_broker.c $(BENCH_O)/libvmseal.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(PKG_CFLAGS) -O2 -o $@ $< $(BENCH_O)/libvmseal.a \
		$(PKG_LIBS)

# One sub-make builds both: two at once (make -j) would write the same
# objects and archive together.
ifneq ($(O),$(BENCH_O))
$(BENCH_O)/libvmseal.a: FORCE
	$(MAKE) O=$(BENCH_O) SANITIZE= CFLAGS="-O2 -g" $@ $(BENCH_O)/vmseal
$(BENCH_O)/vmseal: $(BENCH_O)/libvmseal.a
endif

FORCE:

bench: $(BENCH_O)/vmseal $(BENCH_TOOLS) test-bins
	bench/run.sh $(abspath $(BENCH_O))

# The library with coverage instrumentation, then one libFuzzer binary per
# target; each runs FUZZ_SECONDS at nice 10, all at once, new inputs in
# build-fuzz/work/T (never the repo), crashes in build-fuzz/crashes/.
fuzz:
	$(MAKE) O=$(FUZZ_O) CC=clang SANITIZE=fuzzer-no-link,address,undefined \
		$(FUZZ_O)/libvmseal.a
	@mkdir -p $(FUZZ_O)/crashes
	$(Q)for t in $(FUZZ_TARGETS); do \
		clang $(BASE_CFLAGS) $(PKG_CFLAGS) -O1 -g $(FUZZ_FLAGS) \
			-o $(FUZZ_O)/fuzz_$$t tests/fuzz/fuzz_$$t.c \
			$(FUZZ_O)/libvmseal.a $(PKG_LIBS) || exit 1; \
	done
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_O)/work/$$t; \
		nice -n 10 $(FUZZ_O)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 -timeout=10 \
			-artifact_prefix=$(FUZZ_O)/crashes/$$t- \
			$(FUZZ_O)/work/$$t tests/fuzz/corpus/$$t \
			>$(FUZZ_O)/$$t.log 2>&1 & \
	done; wait; status=0; \
	for t in $(FUZZ_TARGETS); do \
		echo "== $$t"; grep -E '^(Done|#[0-9]+ +DONE)|stat::(number_of_executed_units|peak_rss)|ERROR|SUMMARY' $(FUZZ_O)/$$t.log; \
		grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error' $(FUZZ_O)/$$t.log && status=1; \
	done; exit $$status

# Installing the binary changes its ctime, which is what libvirt keys its
# cache of the emulator's capabilities on: a wrapper behind the symlink is
# probed anew (do the same with `touch $(BINDIR)/vmseal` after upgrading
# QEMU).
# What the installed unit, init script and man pages say, for this
# PREFIX and SYSCONFDIR (the sources say the defaults of PREFIX=/usr).
UNIT_PATHS = -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'
MAN_PATHS = -e 's|/usr/libexec/vmseal|$(LIBEXECDIR)|g' \
	-e 's|/usr/bin/vmseal|$(BINDIR)/vmseal|g' \
	-e 's|/usr/share/doc/vmseal|$(DOCDIR)|g' \
	-e 's|/usr/lib/systemd/system|$(UNITDIR)|g' \
	-e 's|/etc/init\.d/vmseal|$(SYSCONFDIR)/init.d/vmseal|g' \
	-e 's|/etc/vmseal/ Ns Ar name|$(SYSCONFDIR)/vmseal/ Ns Ar name|g'

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/vmseal
	install -d -m 0755 $(DESTDIR)$(LIBEXECDIR)
	for e in $(WRAPPED_EMULATORS); do \
		ln -sfn $(BINDIR)/vmseal $(DESTDIR)$(LIBEXECDIR)/$$e || exit 1; \
	done
	install -d -m 0755 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	for m in 1/vmseal.1 5/vmseal.ini.5; do \
		sed $(MAN_PATHS) man/$${m#*/} >$(DESTDIR)$(MANDIR)/man$$m || exit 1; \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$$m; \
	done
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/init.d
	sed $(UNIT_PATHS) contrib/systemd/vmseal@.service \
		>$(DESTDIR)$(UNITDIR)/vmseal@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vmseal@.service
	sed $(UNIT_PATHS) contrib/init.d/vmseal \
		>$(DESTDIR)$(SYSCONFDIR)/init.d/vmseal
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/init.d/vmseal
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/vmseal
	install -D -m 0644 contrib/examples/guest.ini $(DESTDIR)$(DOCDIR)/examples/guest.ini
	install -D -m 0644 contrib/examples/wrap.ini $(DESTDIR)$(DOCDIR)/examples/wrap.ini
	install -m 0644 README.md SECURITY.md $(DESTDIR)$(DOCDIR)/
	@echo "note: outside PREFIX=$(PREFIX): $(SYSCONFDIR)/init.d/vmseal and" \
		"$(SYSCONFDIR)/vmseal (SYSCONFDIR=$(SYSCONFDIR))"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmseal
	for e in $(WRAPPED_EMULATORS); do rm -f $(DESTDIR)$(LIBEXECDIR)/$$e; done
	-rmdir $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/vmseal.1 $(DESTDIR)$(MANDIR)/man5/vmseal.ini.5
	rm -f $(DESTDIR)$(UNITDIR)/vmseal@.service $(DESTDIR)$(SYSCONFDIR)/init.d/vmseal
	@# The directories install made, when nothing else is in them.
	-rmdir $(DESTDIR)$(UNITDIR) $(DESTDIR)$(dir $(UNITDIR)) 2>/dev/null
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "left alone: $(DESTDIR)$(SYSCONFDIR)/vmseal (your configs)"

# Debian packages (debian/): vmseal and vmseal-qemu-divert, built from a
# copy of the tracked files so the tree stays clean; the .debs and the
# lintian report land in $(O)/deb/.
deb:
	rm -rf $(O)/deb && mkdir -p $(O)/deb/src/vmseal-$(VERSION)
	git ls-files -z | xargs -0 cp --parents -t $(O)/deb/src/vmseal-$(VERSION)
	cd $(O)/deb/src/vmseal-$(VERSION) && dpkg-buildpackage -us -uc -b
	mv $(O)/deb/src/*.deb $(O)/deb/src/*.changes $(O)/deb/src/*.buildinfo $(O)/deb/
	lintian --fail-on error,warning $(O)/deb/*.changes >$(O)/deb/lintian.txt 2>&1; \
		rc=$$?; cat $(O)/deb/lintian.txt; exit $$rc

analyze:
	$(MAKE) clean
	$(MAKE) CC=gcc CFLAGS="-O1 -g -fanalyzer" vmseal

clean:
	rm -rf $(O)/obj $(O)/gen $(O)/tests $(O)/libvmseal.a $(BIN)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)
