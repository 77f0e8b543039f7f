# Desktop-app targets, included by the Makefile.
#   make screenshot   run the real app under Xvfb on the sample photos and save the window as
#                     assets/screenshot.png (used in the README)
#   make package      the Linux desktop package (fyne package): out/package/Cutout.tar.xz

FYNE_TOOL_VERSION := v1.7.4
FYNE := $(CACHE)/bin/fyne
XDND := $(CACHE)/bin/xdnd-drop
XDND_SRC ?= ../shared/tools/xdnd-drop.c
UI_DEB_PKGS := xvfb xdotool imagemagick libx11-dev
UI_DEPS_STAMP := $(CACHE)/ui-deps.stamp
SCREENSHOT := assets/screenshot.png
SCREENSHOT_SIZE := 1280x800
SAMPLES := $(sort $(wildcard assets/samples/*.png assets/samples/*.jpg))

.PHONY: screenshot package ui-deps

ui-deps: $(UI_DEPS_STAMP)
$(UI_DEPS_STAMP): $(DEPS_STAMP)
	@missing=$$(for p in $(UI_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

$(XDND): $(XDND_SRC) $(UI_DEPS_STAMP)
	@mkdir -p $(dir $@)
	gcc -O2 -o $@ $< -lX11

# The app runs with fresh preferences and the dark theme, drops the samples onto its window
# through the real XDND protocol, waits until its title says every photo is done, and the
# window is captured. Xvfb picks a free display; everything started here is stopped by PID.
screenshot: build ort models $(XDND)
	@tmp=$$(mktemp -d); app=; xvfb=; wid=; \
	trap 'kill $$app $$xvfb 2>/dev/null; wait 2>/dev/null; rm -rf $$tmp' EXIT; \
	Xvfb -displayfd 3 -screen 0 $(SCREENSHOT_SIZE)x24 -nolisten tcp 3>$$tmp/display 2>$$tmp/xvfb.log & xvfb=$$!; \
	for i in $$(seq 100); do [ -s $$tmp/display ] && break; sleep 0.1; done; \
	export DISPLAY=:$$(cat $$tmp/display) XDG_CONFIG_HOME=$$tmp/config FYNE_THEME=dark LANG=en_US.UTF-8; \
	$(BIN) >$$tmp/app.log 2>&1 & app=$$!; \
	for i in $$(seq 100); do wid=$$(xdotool search --name '^Cutout' 2>/dev/null | head -1 || true); [ -n "$$wid" ] && break; sleep 0.2; done; \
	[ -n "$$wid" ] || { echo "screenshot: the window did not open"; cat $$tmp/app.log; exit 1; }; \
	sleep 1; \
	uris=$$(for f in $(SAMPLES); do printf 'file://%s\r\n' "$$(realpath $$f)"; done); \
	timeout 10 $(XDND) "$$wid" 640 400 "$$uris" >/dev/null 2>&1 || { echo "screenshot: the drop failed"; exit 1; }; \
	n=$(words $(SAMPLES)); \
	for i in $$(seq 300); do case "$$(xdotool getwindowname $$wid)" in *"$$n of $$n done"*) break;; esac; sleep 0.5; done; \
	case "$$(xdotool getwindowname $$wid)" in *"$$n of $$n done"*) ;; *) echo "screenshot: not done: $$(xdotool getwindowname $$wid)"; cat $$tmp/app.log; exit 1;; esac; \
	sleep 1.5; \
	import -window "$$wid" $$tmp/shot.png && mv $$tmp/shot.png $(SCREENSHOT); \
	echo "wrote $(SCREENSHOT) ($$(xdotool getwindowname $$wid))"

$(FYNE):
	@mkdir -p $(dir $@)
	GOBIN=$(abspath $(dir $@)) $(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION)

# fyne package reads FyneApp.toml (name, ID, version, icon, desktop entry) and builds a
# release binary into a tarball with a Makefile (sudo make install, or make user-install).
# The models and ONNX Runtime are not in it: the binary finds them in lib/ and models/ beside
# or above itself, or through CUTOUT_ORT_LIB and CUTOUT_MODELS.
package: deps $(FYNE)
	@rm -rf out/package && mkdir -p out/package && cp FyneApp.toml out/package/.FyneApp.toml
	$(FYNE) package -os linux -release || { mv out/package/.FyneApp.toml FyneApp.toml; exit 1; }
	@mv out/package/.FyneApp.toml FyneApp.toml # fyne package bumps Build; versions are set by hand
	mv Cutout.tar.xz out/package/
	@echo "wrote out/package/Cutout.tar.xz:"; tar -tJf out/package/Cutout.tar.xz | grep -v '/$$'
