# VisionSync: the two commands a newcomer needs are `make run` and `make test`.
# Everything else here is what they are made of.

PRESET ?= release
BUILD_DIR := build
SHARED ?= $(abspath ../shared)
SAMPLE ?= $(SHARED)/media/src-720p30-10s.mp4

.PHONY: all setup configure build run sample test bench clean

all: build

setup:
	@bash scripts/setup

configure: setup
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake --preset $(PRESET) >/dev/null; fi

build: configure
	@cmake --build --preset $(PRESET)

# The whole product on http://localhost:8080 with the embedded defaults
# (SQLite + local disk under ./data + one in-process worker).
run: build
	@exec $(BUILD_DIR)/visionsync serve

# Transcodes a sample clip on its own and says where the output is.
sample: build
	@rm -rf out/sample
	@$(BUILD_DIR)/visionsync transcode --progress json "$(SAMPLE)" out/sample | tail -n 1
	@echo "DASH: out/sample/manifest.mpd  HLS: out/sample/master.m3u8  thumbnail: out/sample/thumbnail.jpg"

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j2

bench: build
	@bash bench/transcode.sh

clean:
	rm -rf build build-debug build-asan build-tsan out
