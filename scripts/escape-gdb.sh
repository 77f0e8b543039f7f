#!/usr/bin/env bash
# Proves the engine's confinement from outside, as a hijacked decoder would use it: starts
# `cutout watch` (as root, or as USER with --user USER), waits for its engine to be locked
# down, attaches gdb (as root) to the engine and makes it call libc for each escape. Prints
# "blocked" or "ESCAPED" per call; exits 1 if anything escaped.
#
#   scripts/escape-gdb.sh [--user nobody] [bin/cutout]
set -euo pipefail
user=""
if [ "${1:-}" = "--user" ]; then user=$2; shift 2; fi
bin=$(realpath "${1:-bin/cutout}")
command -v gdb >/dev/null || { echo "gdb is not installed (apt-get install gdb)"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root: gdb must be able to attach to the engine"; exit 2; }

work=$(mktemp -d /tmp/cutout-escape-gdb.XXXXXX)
chmod 755 "$work"
mkdir -m 777 "$work/in" "$work/out"
echo secret > "$work/private.txt" && chmod 644 "$work/private.txt"
: > "$work/leak" && chmod 666 "$work/leak"
run=()
if [ -n "$user" ]; then
	# The user may not be able to read the checkout: give it a copy of what the engine loads.
	root=$(dirname "$(dirname "$bin")")
	mkdir -p "$work/bin" "$work/lib" "$work/models"
	cp "$bin" "$work/bin/cutout" && bin=$work/bin/cutout
	cp "${CUTOUT_ORT_LIB:-$root/lib/libonnxruntime.so.1}" "$work/lib/"
	cp "${CUTOUT_MODELS:-$root/models}/models.toml" "${CUTOUT_MODELS:-$root/models}/isnet-general-q8.onnx" "$work/models/"
	chmod -R a+rX "$work/bin" "$work/lib" "$work/models"
	export CUTOUT_ORT_LIB=$work/lib/libonnxruntime.so.1 CUTOUT_MODELS=$work/models
	run=(setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups --)
fi
# Descriptor 251 is inherited without close-on-exec, as from a careless parent.
"${run[@]}" "$bin" watch -v "$work/in" "$work/out" 251>>"$work/leak" >"$work/watch.log" 2>&1 &
watch=$!
trap 'kill $watch 2>/dev/null; wait $watch 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do
	grep -q "engine: started" "$work/watch.log" 2>/dev/null && break
	sleep 0.1
done
engine=$(pgrep -P "$watch" -f "engine" | head -1 || true)
[ -n "$engine" ] || { echo "no engine found"; cat "$work/watch.log"; exit 2; }
echo "watch pid $watch (${user:-root}), engine pid $engine"

# Each call: a label, and a C expression gdb evaluates inside the engine (-1 means refused).
calls=(
	"read /etc/passwd|((int(*)(char*,int))open)(\"/etc/passwd\",0)"
	"read a user's file|((int(*)(char*,int))open)(\"$work/private.txt\",0)"
	"create a file in OUT|((int(*)(char*,int,int))open)(\"$work/out/escaped.png\",0101,0644)"
	"list /|((int(*)(char*,int))open)(\"/\",0200000)"
	"open the app's network namespace|((int(*)(char*,int))open)(\"/proc/$watch/ns/net\",0)"
	"socket AF_UNIX|((int(*)(int,int,int))socket)(1,1,0)"
	"socket AF_INET|((int(*)(int,int,int))socket)(2,1,0)"
	"socket AF_INET6|((int(*)(int,int,int))socket)(10,2,0)"
	"socket AF_NETLINK|((int(*)(int,int,int))socket)(16,3,0)"
	"signal the app|((int(*)(int,int))kill)($watch,0)"
	"ptrace the app|((long(*)(int,int,long,long))ptrace)(16,$watch,0,0)"
	"TIOCSTI|((int(*)(int,unsigned long,char*))ioctl)(2,0x5412,\"x\")"
	"setns|((int(*)(int,int))setns)(0,0x40000000)"
	"unshare|((int(*)(int))unshare)(0x10000000)"
	"write to inherited descriptor 251|((long(*)(int,char*,long))write)(251,\"ESCAPE\",6)"
	"setuid 0|((int(*)(int))setuid)(0)"
	# Last: if these worked, the engine would no longer be the process gdb talks to.
	"fork|((int(*)(void))fork)()"
	"exec /bin/sh|((int(*)(char*,long,long))execve)(\"/bin/sh\",0,0)"
)
args=(-p "$engine" -batch -nx -ex "set language c" -ex "set confirm off")
for c in "${calls[@]}"; do args+=(-ex "print (long)(${c#*|})"); done
out=$(timeout 60 gdb "${args[@]}" 2>&1 | grep -E '^\$[0-9]+ = ' || true)
escaped=0 i=0
while IFS= read -r line; do
	label=${calls[$i]%%|*}
	value=${line#*= }
	if [ "$value" = "-1" ]; then echo "blocked  $label"; else echo "ESCAPED  $label (returned $value)"; escaped=1; fi
	i=$((i + 1))
done <<< "$out"
if [ "$i" -ne "${#calls[@]}" ]; then echo "gdb answered $i of ${#calls[@]} calls"; exit 2; fi
if [ -s "$work/leak" ] || [ -n "$(ls -A "$work/out" | grep -v '^\.' || true)" ]; then
	echo "ESCAPED  something reached the inherited file or OUT"; escaped=1
fi
exit $escaped
