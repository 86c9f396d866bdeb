# hanfs — see README.md.
#
#   make              install the packages, build, and run the main job (the lab failover)
#   make test         install the packages, build, and run every test
#   make install      put hanfs, scripts/ and stdlib/ under $(PREFIX)
#   make install-ocf  the Pacemaker agent ocf:hanfs:package, a link to $(PREFIX)/bin/hanfs
#   make bench        run the benchmarks (figures go in BENCHMARKS.md)

PREFIX ?= /usr/local
DESTDIR ?=
BIN ?= .build/release/hanfs
SHARE = $(DESTDIR)$(PREFIX)/share/hanfs
OCF_ROOT ?= /usr/lib/ocf

.PHONY: all deps build build-debug test install install-files install-ocf bench main clean

all: main

deps:
	./tools/install-deps.sh

build: deps
	swift build -c release --static-swift-stdlib --product hanfs

build-debug: deps
	swift build --build-tests

# The main job: the node check, then the two-node lab on this machine: the
# package started on node1, failed over to node2 and back while a client
# reads, with the timeline of each failover; the lab removed whatever happens.
main: build
	$(BIN) run doctor
	$(BIN) lab down >/dev/null
	$(BIN) lab up && $(BIN) lab failover --count 2; status=$$?; $(BIN) lab down; exit $$status

test: build-debug
	swift test

install: build install-files

# Copies an already built binary (BIN) and the Lua files.
install-files:
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hanfs
	install -d $(SHARE)/scripts $(SHARE)/stdlib
	cp -R scripts/. $(SHARE)/scripts/
	cp -R stdlib/. $(SHARE)/stdlib/

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
