# Shared preamble of the bench scripts (POSIX sh; sourced, not run):
#   . "$(dirname "$0")/lib.sh"; bench_init NAME "$@"
# bench_init sets SRC (the source tree), BLD (the bld binary: $1, else $BLD, else
# build/cli/bld, made absolute), N (runs per figure: $N, else the script's BENCH_N default),
# WORK (a scratch directory on disk, removed at exit unless BENCH_KEEP=1) and shifts nothing.
# Every figure is the median of N wall-clock runs next to its yardstick's median from the same
# run, with the ratio and the machine load: this machine is shared, absolute times are noise.

bench_init() {
  BENCH_NAME=$1
  SRC=$(cd "$(dirname "$0")/.." && pwd)
  BLD=${2:-${BLD:-$SRC/build/cli/bld}}
  [ -x "$BLD" ] || { echo "$BENCH_NAME: no bld binary at $BLD (build a Release build/ first)" >&2; exit 1; }
  BLD=$(realpath "$BLD")
  N=${N:-${BENCH_N:-5}}
  WORK=$(mktemp -d "/var/tmp/bld-$BENCH_NAME.XXXXXX")
  BENCH_CLEANUP=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# bench_at_exit CMD: runs the shell command CMD when the script exits (last registered first).
bench_at_exit() { BENCH_CLEANUP="$1; $BENCH_CLEANUP"; }

bench_cleanup() {
  eval "$BENCH_CLEANUP" >/dev/null 2>&1 || true
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}

bench_need() {
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || { echo "$BENCH_NAME: needs $p" >&2; exit 1; }
  done
}

now_ns() { date +%s%N; }

# median: numbers on stdin -> their median.
median() {
  sort -n | awk '{a[NR]=$1} END {if (NR == 0) exit 1; m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.4f\n", m}'
}

# median_s PREP CMD...: median wall seconds of N runs of CMD (output discarded), each after
# the shell command PREP (untimed; ":" for none). A failing run stops the script.
median_s() {
  prep=$1
  shift
  times=""
  r=0
  while [ "$r" -lt "$N" ]; do
    eval "$prep"
    t0=$(now_ns)
    if ! "$@" >"$WORK/last.out" 2>"$WORK/last.err"; then
      echo "$BENCH_NAME: failed: $*" >&2
      tail -20 "$WORK/last.err" >&2
      exit 1
    fi
    t1=$(now_ns)
    times="$times $(( (t1 - t0) / 1000 ))"
    r=$((r + 1))
  done
  echo $times | tr ' ' '\n' | median | awk '{printf "%.4f\n", $1 / 1e6}'
}

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f\n", (b > 0 ? a / b : 0)}'; }

load() { uptime | sed 's/.*load average/load average/'; }

# report NAME SECONDS YARDSTICK_NAME YARDSTICK_SECONDS TARGET: one result line.
report() {
  printf '%-34s %9.3fs | %-34s %9.3fs | ratio %6.2f | %s\n' "$1" "$2" "$3" "$4" \
    "$(ratio "$2" "$4")" "$5"
}

bench_header() {
  echo "== $BENCH_NAME: $(basename "$BLD") median of $N; $(load); $(nproc) CPUs"
}

# debian_rootfs FILE [INCLUDE]: a debootstrap'd Debian bookworm root filesystem tar in FILE
# (cached by testdata/debian-rootfs.sh). Returns 3 when Debian's mirror cannot be reached.
debian_rootfs() {
  INCLUDE=${2:-} "$SRC/testdata/debian-rootfs.sh" -t "$1"
}

busybox_rootfs() { "$SRC/testdata/busybox-rootfs.sh" -t "$1"; }

# start_registry: Debian's docker-registry on a free port of 127.0.0.1, storage in $WORK;
# sets REG=127.0.0.1:PORT and stops it at exit.
start_registry() {
  bench_need docker-registry python3
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  REG=127.0.0.1:$port
  cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: $REG
YML
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  REG_PID=$!
  bench_at_exit "kill $REG_PID"
  i=0
  while [ $i -lt 100 ]; do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  echo "$BENCH_NAME: docker-registry did not start" >&2
  exit 1
}

# push_rootfs TAR NAME: imports TAR into a scratch store and pushes it to $REG/NAME:latest.
push_rootfs() {
  "$BLD" --root "$WORK/push-store" import "$1" "$2" --change 'CMD ["sh"]' >/dev/null
  "$BLD" --root "$WORK/push-store" push "$2" "$REG/$2:latest" >"$WORK/push.log" 2>&1 || {
    cat "$WORK/push.log" >&2
    return 1
  }
}
