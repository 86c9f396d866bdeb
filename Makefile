# hanfs — see README.md.
#
#   make              install the packages, build, and run the main job (the lab: a move and a crash under Pacemaker)
#   make test         install the packages, build, and run every test: the
#                     suite, the sanitized suite, the fuzzers (bounded) and
#                     the Debian package installed on a fresh Debian 12 root
#   make fuzz         the fuzzers alone: FUZZ_SECONDS each, FUZZ_SEED
#   make deb          the Debian package, in .build/deb (tools/make-deb.sh)
#   make install      put hanfs, scripts/, stdlib/, examples/ and the man pages under $(PREFIX)
#   make install-ocf  the Pacemaker agent ocf:hanfs:package, a link to $(PREFIX)/bin/hanfs
#   make kernel-lab   the same failovers on the kernel's NFS server, in a VM running Debian's kernel
#   make bench        run the benchmarks (figures go in BENCHMARKS.md)
#   make docs         write the reference made from the code into README.md

PREFIX ?= /usr/local
DESTDIR ?=
BIN ?= .build/release/hanfs
SHARE = $(DESTDIR)$(PREFIX)/share/hanfs
OCF_ROOT ?= /usr/lib/ocf

.PHONY: all deps build build-debug docs deb test test-deb test-sanitized fuzz install install-files install-ocf bench main kernel-lab clean

all: main

deps:
	./tools/install-deps.sh

build: deps
	swift build -c release --static-swift-stdlib --product hanfs

build-debug: deps
	swift build --build-tests

# The README's primitive tables, made from the declarations in Sources/HostBindings/Bindings/.
docs:
	swift build --product hanfs
	python3 tools/update-readme.py .build/debug/hanfs

# The main job: the node check, then the two-node lab on this machine, a
# Pacemaker cluster: the package started on node1, moved to node2 while a
# client reads, then node2 powered off, fenced and replaced by node1 while
# the client reads and writes, with the timeline of each; the lab removed
# whatever happens.
main: build
	$(BIN) run doctor
	$(BIN) lab down >/dev/null
	$(BIN) lab up && $(BIN) lab failover && $(BIN) lab crash; status=$$?; $(BIN) lab down; exit $$status

# The kernel NFS lab: the same cluster in a qemu VM running Debian's kernel,
# the package serving with the kernel's nfsd, the client's kernel mounts
# reading, writing and holding locks: a move, a crash, and a move with a
# dead client on the server's record (the grace period runs out); the VM
# powered off whatever happens.
kernel-lab: build
	$(BIN) lab down >/dev/null
	$(BIN) lab up --kernel --grace 30 --nlm-grace 10 && $(BIN) lab failover && $(BIN) lab crash && $(BIN) lab failover --dead-client; \
	  status=$$?; $(BIN) lab down; exit $$status

# The VM suites run after the rest, one at a time: their kernel runs under
# TCG, and their timing checks (new locks, outages) need the machine's cores.
VM_SUITES = KernelVM|KernelNFSLab

test: build-debug
	swift test --skip '$(VM_SUITES)'
	swift test --skip-build --no-parallel --filter '$(VM_SUITES)'
	$(MAKE) test-sanitized fuzz FUZZ_BUILD=.build-asan
	$(MAKE) test-deb

# AddressSanitizer on everything, UndefinedBehaviorSanitizer on the C targets
# (the Lua boundary, line editing): a build of its own, and the tests that
# need no root (the integration suite runs unsanitized above).
SANITIZED = --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --build-path .build-asan
UNPRIVILEGED = LuaRuntimeTests|PackageConfigTests|PrimitivesTests|CLITests|ScriptTests

# Memory errors, not leaks: LeakSanitizer reports Foundation's and XCTest's own.
export ASAN_OPTIONS = detect_leaks=0
export UBSAN_OPTIONS = print_stacktrace=1

test-sanitized: deps
	swift build --build-tests $(SANITIZED)
	swift test --skip-build $(SANITIZED) --filter '$(UNPRIVILEGED)'

# The fuzzers (Fuzz/): package files through the three parsers and
# validation, Lua snippets through the boundary. Seeded: a failure replays
# with its seed. CI runs them a minute each, from the sanitized build.
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 20261202
FUZZ_BUILD ?= .build

fuzz:
	[ -x $(FUZZ_BUILD)/debug/hanfs-fuzz ] || swift build --product hanfs-fuzz
	$(FUZZ_BUILD)/debug/hanfs-fuzz packages --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED)
	$(FUZZ_BUILD)/debug/hanfs-fuzz lua --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED)

install: build install-files

# Copies an already built binary (BIN) and the Lua files.
install-files:
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hanfs
	install -d $(SHARE)/scripts $(SHARE)/stdlib
	cp -R scripts/. $(SHARE)/scripts/
	cp -R stdlib/. $(SHARE)/stdlib/
	install -d $(SHARE)/examples
	cp -R examples/. $(SHARE)/examples/
	install -D -m 0644 doc/hanfs.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/hanfs.conf.5
	install -D -m 0644 doc/hanfs.8 $(DESTDIR)$(PREFIX)/share/man/man8/hanfs.8

# The Debian package: the binary, scripts, stdlib, examples, man pages,
# completion, the OCF agent's link and a logrotate file.
deb: build
	./tools/make-deb.sh $(BIN) .build/deb

# The package installed with apt into a fresh Debian 12 root (debootstrap),
# `hanfs run doctor` and `hanfs validate` there, then purged: nothing of it left.
test-deb: deb
	./tools/test-deb.sh .build/deb/hanfs_*.deb

# Pacemaker runs resource.d/hanfs/package; hanfs knows it is the agent by that path.
install-ocf:
	install -d $(DESTDIR)$(OCF_ROOT)/resource.d/hanfs
	ln -sf $(PREFIX)/bin/hanfs $(DESTDIR)$(OCF_ROOT)/resource.d/hanfs/package

bench: deps
	swift build -c release --static-swift-stdlib --product hanfs
	swift build -c release --product hanfs-bench
	.build/release/hanfs-bench

clean:
	rm -rf .build
