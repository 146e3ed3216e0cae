#!/usr/bin/env bash
# REGISTER-with-digest-auth load: hotline's registrar against Kamailio's, driven
# by the same SIPp scenario (tests/sipp/register-auth.xml) at rising rates.
#
#   bench/sipp-register-load.sh            # from the repository root (or anywhere)
#
# Environment (defaults in brackets):
#   AGENTS   agents in both registrars, users of the SIPp injection file [1000]
#   CALLS    registrations per step (each = REGISTER, 401, REGISTER, 200) [20000]
#   RATES    offered rates in registrations/s, one step each ["500 1000 2000 4000 6000 8000"]
#   WORK     directory for configs, logs and SIPp statistics [mktemp -d]
#   NO_BUILD set to skip `cargo build --release`
#   ONLY     "hotline" or "kamailio" to run one server only [both]
#   HOTLINE_BIN  the hotline binary to run [target/release/hotline]; point it at
#            a copy when other builds share the tree, so none replaces it mid-run
#   SIPP_BUFF  SIPp's socket buffers in bytes (-buff_size) [1048576]. SIPp's own
#            default (65535, so 128 KiB in the kernel, ~100 datagrams) overflows
#            at a few thousand registrations/s on a busy 2-core machine: the
#            load generator then loses responses and every loss costs its call a
#            500 ms retransmission (T1) whichever server it tests.
#
# It builds hotline in release, generates one config for each server with the
# same AGENTS users and passwords, starts hotline (SIP 127.0.0.1:5070, HTTP
# 127.0.0.1:8090) and Kamailio (registrar + auth + usrloc in memory, UDP
# 127.0.0.1:5072, 2 children, tlsf allocator), checks that one authenticated
# registration succeeds on each, then for every rate runs SIPp once against
# hotline and once against Kamailio, and reads: SIPp's achieved rate, failed
# calls and retransmissions (its -trace_stat file), the server's CPU time
# (utime+stime from /proc/PID/stat, all threads, for Kamailio its children
# too), SIPp's CPU time (bash `time`), the load average when the step starts,
# and where datagrams were lost: in the server's socket receive buffer and in
# SIPp's (the sockets' drops counters in /proc/net/udp) and, for hotline, in
# its socket-to-core queue (hotline_sip_udp_dropped_total from /metrics). A
# summary table goes to stdout and to $WORK/results.md. Only loopback is used;
# everything started is stopped on exit (trap). Both servers log at warn level
# (hotline RUST_LOG=warn, Kamailio debug=1) so neither pays for a log line per
# registration.
set -euo pipefail

AGENTS=${AGENTS:-1000}
CALLS=${CALLS:-20000}
RATES=${RATES:-"500 1000 2000 4000 6000 8000"}
HOTLINE_SIP=127.0.0.1:5070
HOTLINE_HTTP=127.0.0.1:8090
KAMAILIO_SIP=127.0.0.1:5072
SIPP_PORT=5090
SIPP_BUFF=${SIPP_BUFF:-1048576}
DOMAIN=hotline.test
ONLY=${ONLY:-}
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCENARIO=$ROOT/tests/sipp/register-auth.xml
WORK=${WORK:-$(mktemp -d /tmp/hotline-register-bench.XXXXXX)}
mkdir -p "$WORK"
CLK_TCK=$(getconf CLK_TCK)

for tool in sipp kamailio python3 curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sip-tester kamailio python3 curl)" >&2; exit 2; }
done
for port in ${HOTLINE_SIP##*:} ${KAMAILIO_SIP##*:} $SIPP_PORT; do
    if ss -Hlun "sport = :$port" | grep -q . || ss -Hltn "sport = :$port" | grep -q .; then
        echo "port $port is busy on this machine; stop what uses it" >&2; exit 2
    fi
done
if ss -Hltn "sport = :${HOTLINE_HTTP##*:}" | grep -q .; then
    echo "port ${HOTLINE_HTTP##*:} is busy" >&2; exit 2
fi

HOTLINE_PID=
KAMAILIO_PID=
SAMPLER_PID=
cleanup() {
    local pid
    for pid in $SAMPLER_PID $HOTLINE_PID $KAMAILIO_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $HOTLINE_PID $KAMAILIO_PID; do
        # Bounded wait, then force.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    echo "logs and statistics kept in $WORK" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- build
# The tree as the build sees it (others may commit while the steps run).
TREE=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then TREE="$TREE + uncommitted changes"; fi
if want hotline && [ -z "${NO_BUILD:-}" ]; then
    log "building hotline (release)"
    (cd "$ROOT" && cargo build --release --bin hotline)
fi
HOTLINE_BIN=${HOTLINE_BIN:-$ROOT/target/release/hotline}
if want hotline && [ ! -x "$HOTLINE_BIN" ]; then echo "no $HOTLINE_BIN" >&2; exit 2; fi

# ---------------------------------------------------------------- users
# Agent ids 20000.., passwords random per run; the same list feeds SIPp
# (-inf), hotline ([[agents]]) and Kamailio (htable).
python3 - "$WORK" "$AGENTS" "$DOMAIN" "$HOTLINE_SIP" "$HOTLINE_HTTP" <<'EOF'
import secrets, sys, pathlib
work, n, domain, sip, http = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
users = [(str(20000 + i), "bench-" + secrets.token_hex(8)) for i in range(n)]
(work / "users.csv").write_text("SEQUENTIAL\n" + "".join(f"{u};{p};{domain};\n" for u, p in users))
agents = "".join(
    f'[[agents]]\nid = "{u}"\nname = "Bench {u}"\npassword = "{p}"\nskills = ["lang:cmn"]\nrole = "agent"\n\n'
    for u, p in users)
(work / "hotline.toml").write_text(f'''[sip]
listen = "{sip}"
domain = "{domain}"
public_addr = "127.0.0.1"
min_expires = 60
max_expires = 3600
# All load comes from one address; the bench sends no wrong passwords, but a
# lost response retried must never trip the brute-force lock-out.
auth_max_failures = 1000000
# SIPp 3.6 answers only the first challenge of a 401 and knows only MD5: offer
# MD5 first (SHA-256 still offered second, as a real deployment would).
digest_algorithms = ["MD5", "SHA-256"]

[http]
listen = "{http}"

[storage]
data_dir = "{work / "hotline-data"}"

[hotline]
numbers = ["12345"]
trusted_trunks = ["127.0.0.1/32"]

{agents}[[queues]]
name = "general"
strategy = "longest_idle"
''')
lines = "".join(f'\t$sht(users=>{u}) = "{p}";\n' for u, p in users)
(work / "kamailio-users.cfg").write_text("event_route[htable:mod-init] {\n" + lines + "}\n")
EOF
mkdir -p "$WORK/kamailio-run"
sed -e "s#@LISTEN@#$KAMAILIO_SIP#" -e "s#@USERS_CFG@#$WORK/kamailio-users.cfg#" \
    "$ROOT/bench/kamailio-registrar.cfg" > "$WORK/kamailio.cfg"
# Private memory per Kamailio process (MB): the users' htable assignments are
# parsed as script, which exhausts 16 MB somewhere above 2000 users.
KAMAILIO_PKG_MB=16
[ "$AGENTS" -le 2000 ] || KAMAILIO_PKG_MB=$((16 + AGENTS / 200))
kamailio -c -f "$WORK/kamailio.cfg" -M "$KAMAILIO_PKG_MB" > "$WORK/kamailio-check.log" 2>&1 \
    || { cat "$WORK/kamailio-check.log" >&2; exit 1; }

# ---------------------------------------------------------------- start
if want hotline; then
    log "starting hotline on $HOTLINE_SIP (HTTP $HOTLINE_HTTP), $AGENTS agents"
    RUST_LOG=warn "$HOTLINE_BIN" serve --config "$WORK/hotline.toml" > "$WORK/hotline.log" 2>&1 &
    HOTLINE_PID=$!
fi
if want kamailio; then
    log "starting Kamailio on $KAMAILIO_SIP"
    kamailio -f "$WORK/kamailio.cfg" -DD -E -x tlsf -X tlsf -m 2048 -M "$KAMAILIO_PKG_MB" \
        -Y "$WORK/kamailio-run" -P "$WORK/kamailio-run/kamailio.pid" > "$WORK/kamailio.log" 2>&1 &
    KAMAILIO_PID=$!
fi

if want hotline; then
    ready=
    for _ in $(seq 100); do
        if curl -fsS "http://$HOTLINE_HTTP/health" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$HOTLINE_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "hotline did not come up:" >&2; tail -20 "$WORK/hotline.log" >&2; exit 1; }
fi
if want kamailio; then
    ready=
    for _ in $(seq 100); do
        if [ -s "$WORK/kamailio-run/kamailio.pid" ] && [ "$(pgrep -c -P "$KAMAILIO_PID" || true)" -ge 2 ]; then ready=1; break; fi
        kill -0 "$KAMAILIO_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "Kamailio did not come up:" >&2; tail -20 "$WORK/kamailio.log" >&2; exit 1; }
fi

# CPU seconds (user+system) of a process and its direct children (Kamailio's workers).
cpu_ticks() {
    local total=0 pid fields
    for pid in "$1" $(pgrep -P "$1" || true); do
        # Fields after the ")" of the command name: utime is the 12th, stime the 13th.
        fields=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        set -- $fields
        total=$((total + ${12} + ${13}))
    done
    echo "$total"
}

# Datagrams the kernel dropped because the receive buffer of the UDP socket
# bound to 127.0.0.1:PORT was full: the last column of /proc/net/udp (Kamailio's
# children share one socket). socket_drops prints 0 when no socket is bound,
# socket_drops_line nothing. (The machine-wide RcvbufErrors of /proc/net/snmp
# also counts other programs' sockets, so it is not used.)
socket_drops_line() {
    awk -v h="$(printf '0100007F:%04X' "$1")" '$2 == h { d += $NF; n++ } END { if (n) print d }' /proc/net/udp
}
socket_drops() { local d; d=$(socket_drops_line "$1"); echo "${d:-0}"; }

# run_sipp NAME ADDR RATE CALLS -> SIPp stats in $WORK/NAME-RATE.{stat.csv,errors.log,time}
# and $WORK/NAME-RATE.sipp-drops: the drops counter of SIPp's socket, sampled
# every 0.1 s while it exists (the socket and its counter go when SIPp exits).
run_sipp() {
    local name=$1 addr=$2 rate=$3 calls=$4 rc=0
    local base=$WORK/$name-$rate
    local limit=$(( calls / rate + 60 ))
    local TIMEFORMAT='%U %S %R'
    (
        while :; do socket_drops_line "$SIPP_PORT"; sleep 0.1; done
    ) > "$base.sipp-drops" 2>/dev/null &
    SAMPLER_PID=$!
    { time sipp -sf "$SCENARIO" -inf "$WORK/users.csv" -auth_uri "$DOMAIN" \
        -i 127.0.0.1 -p "$SIPP_PORT" -r "$rate" -m "$calls" -nostdin -buff_size "$SIPP_BUFF" \
        -timeout "$limit" -timeout_error \
        -trace_stat -stf "$base.stat.csv" -fd 1 \
        -trace_err -error_file "$base.errors.log" \
        "$addr" > "$base.screen.log" 2>&1 || rc=$?; } 2> "$base.time"
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=
    echo "$rc" > "$base.rc"
}

# ---------------------------------------------------------------- preflight
# One authenticated registration on each: a server SIPp cannot register with
# at all is reported as such instead of as "0 registrations/s".
TARGETS=""
for t in hotline:$HOTLINE_SIP kamailio:$KAMAILIO_SIP; do
    name=${t%%:*}; addr=${t#*:}
    want "$name" || continue
    rm -f "$WORK/$name-preflight.errors.log"
    rc=0
    sipp -sf "$SCENARIO" -inf "$WORK/users.csv" -auth_uri "$DOMAIN" -i 127.0.0.1 -p "$SIPP_PORT" \
        -m 1 -nostdin -timeout 15 -timeout_error -trace_err -error_file "$WORK/$name-preflight.errors.log" \
        -trace_msg -message_file "$WORK/$name-preflight.messages.log" "$addr" \
        > "$WORK/$name-preflight.screen.log" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        TARGETS="$TARGETS $name:$addr"
        log "preflight $name: one authenticated REGISTER -> 200"
    else
        log "preflight $name FAILED (SIPp exit $rc): SIPp cannot register there; skipping its load steps"
        cat "$WORK/$name-preflight.errors.log" >&2 2>/dev/null || true
        echo "$rc" > "$WORK/$name-preflight.rc"
    fi
done

# Idle CPU of each server over 3 s: the floor under every step's figure.
: > "$WORK/idle.tsv"
for t in $TARGETS; do
    name=${t%%:*}
    case $name in hotline) pid=$HOTLINE_PID ;; kamailio) pid=$KAMAILIO_PID ;; esac
    before=$(cpu_ticks "$pid"); sleep 3; after=$(cpu_ticks "$pid")
    printf '%s\t%s\n' "$name" "$((after - before))" >> "$WORK/idle.tsv"
done

# Datagrams hotline's UDP task dropped because its queue to the core was full.
core_queue_drops() {
    curl -fsS "http://$HOTLINE_HTTP/metrics" 2>/dev/null \
        | awk '/^hotline_sip_udp_dropped_total/ { d += $2 } END { print d + 0 }'
}

# ---------------------------------------------------------------- steps
: > "$WORK/steps.tsv"
cut -d' ' -f1-3 /proc/loadavg > "$WORK/loadavg-start"
for rate in $RATES; do
    for t in $TARGETS; do
        name=${t%%:*}; addr=${t#*:}
        case $name in hotline) pid=$HOTLINE_PID ;; kamailio) pid=$KAMAILIO_PID ;; esac
        load1=$(cut -d' ' -f1 /proc/loadavg)
        sock0=$(socket_drops "${addr##*:}"); queue0=0
        [ "$name" = hotline ] && queue0=$(core_queue_drops)
        before=$(cpu_ticks "$pid")
        start_ns=$(date +%s%N)
        log "$name: $CALLS registrations at $rate/s"
        run_sipp "$name" "$addr" "$rate" "$CALLS"
        end_ns=$(date +%s%N)
        after=$(cpu_ticks "$pid")
        sock1=$(socket_drops "${addr##*:}"); queue1=0
        [ "$name" = hotline ] && queue1=$(core_queue_drops)
        sipp_drops=$(tail -n 1 "$WORK/$name-$rate.sipp-drops"); sipp_drops=${sipp_drops:-0}
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rate" "$before" "$after" "$start_ns" "$end_ns" \
            "$load1" "$((sock1 - sock0))" "$sipp_drops" "$((queue1 - queue0))" >> "$WORK/steps.tsv"
        sleep 1
    done
done

cut -d' ' -f1-3 /proc/loadavg > "$WORK/loadavg-end"

# ---------------------------------------------------------------- report
python3 - "$WORK" "$CLK_TCK" "$CALLS" "$AGENTS" "$RATES" "$SIPP_BUFF" "$TREE" "$(nproc)" <<'EOF'
import csv, pathlib, sys
work, tck, calls, agents = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rates = sys.argv[5].split()
sipp_buff, tree, cores = sys.argv[6], sys.argv[7], sys.argv[8]

def last_stats(path):
    rows = list(csv.reader(path.open(), delimiter=";"))
    head, last = rows[0], rows[-1]
    return dict(zip(head, last))

out = []
p = out.append
p(f"{agents} agents, {calls} registrations per step (each one = REGISTER, 401, REGISTER with MD5 digest, 200); "
  f"SIPp -buff_size {sipp_buff}; {cores} cores; hotline built from {tree}.\n")
for name in ("hotline", "kamailio"):
    rc = work / f"{name}-preflight.rc"
    if rc.exists():
        err = (work / f"{name}-preflight.errors.log")
        p(f"**{name}: SIPp could not register even once (exit {rc.read_text().strip()}); "
          f"SIPp's error: `{err.read_text().strip().splitlines()[-1] if err.exists() and err.read_text().strip() else '?'}`**\n")
p("| server | offered/s | achieved reg/s | failed | retrans | lost: server socket / SIPp socket / core queue | <1 ms | <10 ms | server CPU | server CPU µs/reg | SIPp CPU | load avg |")
p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
best = {}
cost = {}
for line in (work / "steps.tsv").read_text().splitlines():
    name, rate, before, after, t0, t1, load1, sock, sipp_sock, queue = line.split("\t")
    drops = f"{sock} / {sipp_sock} / {queue if name == 'hotline' else '–'}"
    base = work / f"{name}-{rate}"
    wall = (int(t1) - int(t0)) / 1e9
    s = last_stats(base.with_name(base.name + ".stat.csv"))
    ok, failed = int(s["SuccessfulCall(C)"]), int(s["FailedCall(C)"])
    retrans = int(s["Retransmissions(C)"])
    achieved = float(s["CallRate(C)"])
    done = ok + failed or 1
    lt1 = int(s.get("ResponseTimeRepartition1_<1", 0)) / done
    lt10 = sum(int(s.get(f"ResponseTimeRepartition1_<{b}", 0)) for b in (1, 2, 5, 10)) / done
    cpu = (int(after) - int(before)) / tck
    su, ss_, _ = (float(x) for x in (base.with_name(base.name + ".time")).read_text().split())
    us_per = cpu / ok * 1e6 if ok else float("nan")
    p(f"| {name} | {rate} | {achieved:.0f} | {failed} | {retrans} | {drops} | {lt1:.1%} | {lt10:.1%} | "
      f"{cpu / wall:.0%} | {us_per:.0f} | {(su + ss_) / wall:.0%} | {load1} |")
    if failed == 0 and ok == calls and achieved >= 0.95 * int(rate):
        best[name] = max(best.get(name, 0.0), achieved)
        cost.setdefault(name, {})[int(rate)] = us_per
p("")
idle = dict(l.split("\t") for l in (work / "idle.tsv").read_text().splitlines())
names = [n for n in ("hotline", "kamailio") if n in idle]
for name in names:
    idle_pct = int(idle[name]) / tck / 3
    if name in best:
        top = max(cost[name])
        p(f"- {name}: highest clean step (0 failed, all {calls} done, ≥95% of the offered rate): "
          f"{best[name]:.0f} registrations/s, {cost[name][top]:.0f} µs of server CPU per registration there "
          f"(idle CPU {idle_pct:.1%})")
    else:
        p(f"- {name}: no clean step (idle CPU {idle_pct:.1%})")
if "hotline" in best and "kamailio" in best:
    common = sorted(set(cost["hotline"]) & set(cost["kamailio"]))
    p(f"- ratio hotline/Kamailio, highest clean rate: {best['hotline'] / best['kamailio']:.2f}")
    if common:
        r = common[-1]
        p(f"- ratio hotline/Kamailio, server CPU per registration at {r}/s (highest rate clean on both): "
          f"{cost['hotline'][r] / cost['kamailio'][r]:.2f} (below 1: hotline is cheaper)")
p(f"- load average (1, 5, 15 min) before the first step: {(work / 'loadavg-start').read_text().strip()}, "
  f"after the last: {(work / 'loadavg-end').read_text().strip()} ({cores} cores)")
text = "\n".join(out) + "\n"
(work / "results.md").write_text(text)
print(text)
EOF
