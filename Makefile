# A thin wrapper over meson for the two commands of the README:
#   make run     build an optimized vmwire (no sanitizers) in build-release/
#                and start it on its built-in default setup
#   make check   install what is missing, build with ASan+UBSan in build/,
#                run all tests
# Everything else goes through meson/ninja directly (see docs/development.md).

BUILD      ?= build
MESON_OPTS ?= -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
ARGS       ?=
VALGRIND_BUILD ?= build-valgrind
# `make run`: what a user runs, so optimized and without sanitizers (the
# ASan+UBSan build relays frames at about 0.6x its speed); warnings are
# still errors.  tests/unit/test-make-run.py checks it stays so.
RELEASE_BUILD ?= build-release
RELEASE_OPTS  ?= -Dbuildtype=release -Db_sanitize=none -Dwerror=true

# Debian packages needed to build and test (real QEMU and a tiny guest).
BUILD_DEPS = meson ninja-build pkg-config gcc libglib2.0-dev libjson-glib-dev \
             libslirp-dev libseccomp-dev
TEST_DEPS  = $(BUILD_DEPS) python3 qemu-system-x86 busybox-static \
             linux-image-amd64 cpio kmod valgrind tshark mypy dpdk \
             iproute2 iputils-ping ethtool openvswitch-switch \
             libvirt-daemon-system libvirt-clients \
             mandoc systemd dpkg-dev debhelper lintian debootstrap

.PHONY: all deps build-deps build run check clean valgrind

all: build

build-deps:
	@./scripts/install-deps.sh $(BUILD_DEPS)

deps:
	@./scripts/install-deps.sh $(TEST_DEPS)

# An existing $(BUILD) configured with other options (say, without the
# sanitizers) is reconfigured with $(MESON_OPTS), not reused as it is.
build: build-deps
	./scripts/ensure-build.sh $(BUILD) $(MESON_OPTS)
	ninja -C $(BUILD)

run: build-deps
	./scripts/ensure-build.sh $(RELEASE_BUILD) $(RELEASE_OPTS)
	ninja -C $(RELEASE_BUILD) vmwire
	./$(RELEASE_BUILD)/vmwire $(ARGS)

check: deps
	./scripts/ensure-build.sh $(BUILD) $(MESON_OPTS)
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 $(TESTS)

valgrind: deps
	VALGRIND_BUILD=$(VALGRIND_BUILD) ./scripts/valgrind-check.sh

clean:
	rm -rf $(BUILD) $(RELEASE_BUILD)

# libFuzzer harnesses (docs/security.md, "Fuzzing"): a clang build in
# build-fuzz/ (warnings are errors there too), each target fuzzed for
# FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_DEPS = $(BUILD_DEPS) clang libclang-rt-14-dev

.PHONY: fuzz
fuzz:
	@./scripts/install-deps.sh $(FUZZ_DEPS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh
