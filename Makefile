# VisionSync: the two commands a newcomer needs are `make run` and `make test`.
# Everything else here is what they are made of.

PRESET ?= release
BUILD_DIR := build
SHARED ?= $(abspath ../shared)
SAMPLE ?= $(SHARED)/media/src-720p30-10s.mp4

# The project-local Node.js that scripts/setup-node installs when the system
# has none recent enough (docs/setup.md). First on PATH for every recipe,
# ctest and the tests it starts (s3rver, Socket.IO clients) and npm in web/;
# harmless while the folder does not exist.
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)

.PHONY: all setup configure build native web run cluster sample test test-native test-web bench clean

all: build

# Debian packages (compilers, libraries, Chromium), a Node.js >= 20.19, then
# the npm packages of the web UI and of the Node-based tests. Fast when all is
# present.
setup:
	@bash scripts/setup
	@bash scripts/setup-node
	@bash scripts/setup-web
	@bash scripts/setup-node-tests

configure: setup
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake --preset $(PRESET) >/dev/null; fi

native: configure
	@cmake --build --preset $(PRESET)

web: setup
	@cd web && npm run build --silent

build: native web

# The whole product on http://localhost:8080 with the embedded defaults
# (SQLite + local disk under ./data + one in-process worker).
run: build
	@exec $(BUILD_DIR)/visionsync serve

# The scale-out topology on this machine: PostgreSQL, Redis, s3rver, two api
# processes (ports 8080 and 8081) and two workers, none sharing a disk.
cluster: build
	@exec bash scripts/cluster

# Transcodes a sample clip on its own and says where the output is.
sample: native
	@rm -rf out/sample
	@$(BUILD_DIR)/visionsync transcode --progress json "$(SAMPLE)" out/sample | tail -n 1
	@echo "DASH: out/sample/manifest.mpd  HLS: out/sample/master.m3u8  thumbnail: out/sample/thumbnail.jpg"

# C++ unit and integration tests (including the Socket.IO client tests),
# then the web UI's component tests and its end-to-end tests in Chromium.
test: build
	@$(MAKE) --no-print-directory test-native
	@$(MAKE) --no-print-directory test-web

test-native:
	@cd $(BUILD_DIR) && ctest --output-on-failure -j2

test-web:
	@cd web && npm test --silent
	@cd web && VS_BINARY=$(abspath $(BUILD_DIR))/visionsync npm run e2e --silent

bench: native
	@bash bench/transcode.sh
	@bash bench/server.sh
	@bash bench/realtime.sh

clean:
	rm -rf build build-debug build-asan build-tsan out web/dist
