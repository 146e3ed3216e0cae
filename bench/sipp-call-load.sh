#!/usr/bin/env bash
# Call load: hotline as the B2BUA of trunk calls, against Kamailio (stateful
# proxy, signalling) and rtpengine (userspace relay, media), driven by SIPp.
#
#   bench/sipp-call-load.sh            # from the repository root (or anywhere)
#
# 1. Signalling. SIG_AGENTS agents register with hotline (SIPp, digest auth)
#    from the port of one SIPp UAS process that then plays all of them
#    (bench/sipp/agent-uas.xml: 200 + SDP at once, ACK, BYE). A SIPp UAC
#    (bench/sipp/call-uac.xml) places trunk calls to 12345: INVITE with SDP,
#    200, ACK, HOLD_MS, BYE, at each rate of RATES for STEP_S seconds; a
#    server's steps stop after its first one with > 0.1 % failed calls or
#    < 95 % of the offered rate. The same UAC and UAS run through Kamailio 5.6 as a
#    stateful proxy (bench/kamailio-proxy.cfg: record_route, loose_route, static
#    $du to the UAS; 2 children, -x tlsf -X tlsf). No RTP: hotline still
#    records every answered call, so its recordings are silence padding.
# 2. Media. For each number of concurrent calls in MEDIA_CALLS, the UAC
#    (bench/sipp/call-uac-rtp.xml) streams a PCMU tone (rtp_stream, 50 packets/s)
#    on every call and the UAS echoes every packet back (-rtp_echo), with
#    AGENTS agents registered (the rest are registered first); calls ramp
#    up in RAMP_S seconds, then STEADY_S seconds are measured with all of them
#    up. The same streams go through rtpengine (userspace, NG protocol driven
#    by bench/rtpengine_ng.py: one offer/answer per call; the UAC signals the
#    UAS directly and the UAS's SDP points at rtpengine), without recording.
#
# Environment (defaults in brackets):
#   AGENTS      agents registered for the media steps (hotline rings the first
#               free one: more than the largest MEDIA_CALLS) [1100]
#   SIG_AGENTS  agents registered for the signalling steps (more than the
#               highest rate hotline can take × the hold time) [500]
#   RATES       signalling steps, calls/s ["100 200 300 400 600 800 1600 3200 4800"]
#   STEP_S      seconds of calls per signalling step [6]
#   HOLD_MS     hold time of a signalling call [1000]
#   MEDIA_CALLS concurrent calls of the media steps ["100 500 1000"]
#   RAMP_S      seconds to set up the calls of a media step [5]
#   STEADY_S    seconds measured with every call up [20]
#   ONLY        "hotline", "kamailio" or "rtpengine": one server only [all]
#   PHASES      ["signalling media"]
#   WORK        directory for configs, logs, statistics [mktemp -d]
#   NO_BUILD    set to skip `cargo build --release`
#   HOTLINE_BIN the binary to run [a copy of target/release/hotline in WORK,
#               so a build by someone else cannot replace it mid-run]
#   SIPP_BUFF   SIPp socket buffers, bytes [1048576]
#   HOTLINE_RTP hotline's RTP port range (another hotline on the machine must not
#               share it) [10000-17999]
#   KEEP_RECORDINGS set to keep hotline's WAV files (they are deleted after
#               being checked: about 1 GB per 1000 calls of 35 s)
#
# Measures: SIPp's statistics (-trace_stat), utime+stime of every process from
# /proc (server, SIPp UAC and UAS), VmRSS, hotline's /metrics (RTP relay
# counters, SIP responses sent), rtpengine's NG `statistics`, the kernel's
# receive-buffer drops of the relays' and SIPp's sockets (/proc/net/udp), the
# per-call "media closed" reports in hotline's JSON log, the WAV files and the
# CDR/recording rows hotline wrote. Writes $WORK/results.md. Loopback only;
# every SIPp run is bounded (-m, -timeout); everything started is stopped on
# exit (trap). Servers log at warn level (hotline: warn plus its per-call media
# report, one line per call).
set -euo pipefail

AGENTS=${AGENTS:-1100}
SIG_AGENTS=${SIG_AGENTS:-500}
RATES=${RATES:-"100 200 300 400 600 800 1600 3200 4800"}
STEP_S=${STEP_S:-6}
HOLD_MS=${HOLD_MS:-1000}
MEDIA_CALLS=${MEDIA_CALLS:-"100 500 1000"}
RAMP_S=${RAMP_S:-5}
STEADY_S=${STEADY_S:-20}
ONLY=${ONLY:-}
PHASES=${PHASES:-"signalling media"}
SIPP_BUFF=${SIPP_BUFF:-1048576}
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

# Ports (all on 127.0.0.1). Chosen away from the register bench's (5070-5090,
# 6000, 8090, 8888) so both can run on one machine.
HOTLINE_SIP=127.0.0.1:5270
HOTLINE_HTTP=127.0.0.1:8290
KAMAILIO_SIP=127.0.0.1:5272
UAS_PORT=5280          # the agents' SIPp UAS (their registered Contact)
UAS_MP=26000           # its RTP echo port (and +2)
UAC_PORT=5281          # the trunk's SIPp UAC
UAC_MP=26200           # its RTP port (rtp_stream sends from here)
UAS2_PORT=5282         # the SIPp UAS behind rtpengine
UAS2_MP=26100          # its RTP echo port
REG_MP=26300           # media port of the registering SIPp (unused)
HOTLINE_RTP=${HOTLINE_RTP:-10000-17999}    # below the ephemeral range (32768-), so no stray socket takes one
RTPENGINE_NG=127.0.0.1:2223
RTPENGINE_RTP=27000-32767  # rtpengine skips ports in use
# SIPp control ports (SIPp binds one per process, on all interfaces; nothing is sent there)
CP_REG=8971 CP_UAS=8972 CP_UAS2=8973 CP_UAC=8974
DOMAIN=hotline.test

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
PY="python3 $BENCH/sipp-call-load.py"
WORK=${WORK:-$(mktemp -d /tmp/hotline-call-bench.XXXXXX)}
mkdir -p "$WORK/samples"
CLK_TCK=$(getconf CLK_TCK)
T_START=$(date +%s)

for tool in sipp kamailio rtpengine python3 curl ss; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sip-tester kamailio rtpengine-daemon python3 curl iproute2)" >&2; exit 2; }
done
for port in ${HOTLINE_SIP##*:} ${KAMAILIO_SIP##*:} $UAS_PORT $UAC_PORT $UAS2_PORT ${RTPENGINE_NG##*:} \
    $UAS_MP $((UAS_MP + 2)) $UAC_MP $((UAC_MP + 2)) $UAS2_MP $((UAS2_MP + 2)) $REG_MP $((REG_MP + 2)); do
    if ss -Hlun "sport = :$port" | grep -q .; then
        echo "UDP port $port is busy on this machine; stop what uses it" >&2; exit 2
    fi
done
for port in ${HOTLINE_SIP##*:} ${HOTLINE_HTTP##*:}; do
    if ss -Hltn "sport = :$port" | grep -q .; then echo "TCP port $port is busy" >&2; exit 2; fi
done
# hotline binds the pairs of its range in order: one taken port fails a call.
r=$HOTLINE_RTP
if [ "$(ss -Hlun "( sport >= :${r%-*} and sport <= :${r#*-} )" | wc -l)" != 0 ]; then
    echo "UDP ports $r are partly in use" >&2; exit 2
fi

HOTLINE_PID= KAMAILIO_PID= RTPENGINE_PID= UAS_PID= UAS2_PID= UAC_JOB=
cleanup() {
    local pid kid
    # SIPp first (UAC runs under a `time` subshell: stop its child too).
    for pid in $UAC_JOB $UAS2_PID $UAS_PID $HOTLINE_PID $KAMAILIO_PID $RTPENGINE_PID; do
        for kid in $(pgrep -P "$pid" -x sipp 2>/dev/null || true); do kill "$kid" 2>/dev/null || true; done
        kill "$pid" 2>/dev/null || true
    done
    for pid in $UAC_JOB $UAS2_PID $UAS_PID $HOTLINE_PID $KAMAILIO_PID $RTPENGINE_PID; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ -z "${KEEP_RECORDINGS:-}" ] && [ -d "$WORK/hotline-data/recordings" ]; then
        rm -rf "$WORK/hotline-data/recordings"
    fi
    echo "logs and statistics kept in $WORK" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== [$(( $(date +%s) - T_START ))s] $*" >&2; }

# ---------------------------------------------------------------- build
TREE=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then TREE="$TREE + uncommitted changes"; fi
if want hotline && [ -z "${HOTLINE_BIN:-}" ]; then
    if [ -z "${NO_BUILD:-}" ]; then
        log "building hotline (release)"
        (cd "$ROOT" && cargo build --release --bin hotline)
    fi
    cp "$ROOT/target/release/hotline" "$WORK/hotline"
    HOTLINE_BIN=$WORK/hotline
fi
HOTLINE_BIN=${HOTLINE_BIN:-$WORK/hotline}
if want hotline && [ ! -x "$HOTLINE_BIN" ]; then echo "no $HOTLINE_BIN" >&2; exit 2; fi

# ---------------------------------------------------------------- files
python3 - "$WORK" "$AGENTS" "$DOMAIN" "$HOTLINE_SIP" "$HOTLINE_HTTP" "$HOTLINE_RTP" <<'EOF'
import math, pathlib, secrets, sys
work, n, domain, sip, http, rtp = pathlib.Path(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]
users = [(str(20000 + i), "bench-" + secrets.token_hex(8)) for i in range(n)]
(work / "users.csv").write_text("SEQUENTIAL\n" + "".join(f"{u};{p};{domain};\n" for u, p in users))
agents = "".join(
    f'[[agents]]\nid = "{u}"\nname = "Bench {u}"\npassword = "{p}"\nskills = ["lang:cmn"]\nrole = "agent"\n\n'
    for u, p in users)
(work / "hotline.toml").write_text(f'''[sip]
listen = "{sip}"
domain = "{domain}"
public_addr = "127.0.0.1"
rtp_ports = "{rtp}"
min_expires = 60
max_expires = 3600
auth_max_failures = 1000000
# SIPp 3.6 answers only the first challenge of a 401 and knows only MD5.
digest_algorithms = ["MD5", "SHA-256"]

[http]
listen = "{http}"

[storage]
data_dir = "{work / "hotline-data"}"

[hotline]
numbers = [{{ number = "12345", queue = "general" }}]
trusted_trunks = ["127.0.0.1/32"]
# Every call rings the first free registered agent: no menu, queue or login.
routing = "direct"

{agents}[[queues]]
name = "general"
strategy = "longest_idle"
''')
# 1 s of a 440 Hz tone, G.711 mu-law, headerless (what SIPp's rtp_stream plays).
def ulaw(s):
    sign = 0x80 if s < 0 else 0
    s = min(abs(s), 32635) + 0x84
    exp, mask = 7, 0x4000
    while exp > 0 and not s & mask:
        exp, mask = exp - 1, mask >> 1
    return ~(sign | exp << 4 | (s >> (exp + 3)) & 0x0F) & 0xFF
(work / "tone.ulaw").write_bytes(bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000)))
EOF
sed -e "s#@LISTEN@#$KAMAILIO_SIP#" -e "s#@UAS@#127.0.0.1:$UAS_PORT#" "$BENCH/kamailio-proxy.cfg" > "$WORK/kamailio.cfg"
sed -e 's#@MEDIA_PORT@#[media_port]#' "$BENCH/sipp/agent-uas.xml" > "$WORK/agent-uas.xml"
sed -e 's#@MEDIA_PORT@#[field0]#' "$BENCH/sipp/agent-uas.xml" > "$WORK/agent-uas-rtpengine.xml"
cp "$BENCH/sipp/call-uac.xml" "$WORK/call-uac.xml"
sed -e "s#@ULAW@#$WORK/tone.ulaw#" "$BENCH/sipp/call-uac-rtp.xml" > "$WORK/call-uac-rtp.xml"
if want kamailio; then
    kamailio -c -f "$WORK/kamailio.cfg" > "$WORK/kamailio-check.log" 2>&1 \
        || { cat "$WORK/kamailio-check.log" >&2; exit 1; }
fi
python3 - "$WORK" "$CLK_TCK" "$TREE" "$AGENTS" "$HOLD_MS" "$STEP_S" "$STEADY_S" "$SIG_AGENTS" <<'EOF'
import json, os, pathlib, subprocess, sys
work = pathlib.Path(sys.argv[1])
def cmd(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
kam = cmd("kamailio", "-v").split()[2] if cmd("kamailio", "-v") else "?"
rtpe = cmd("sh", "-c", "rtpengine --version 2>&1").replace("Version:", "").strip() or "?"
(work / "meta.json").write_text(json.dumps({
    "cores": os.cpu_count(), "cpu": cpu, "tree": sys.argv[3], "agents": int(sys.argv[4]),
    "hold_ms": int(sys.argv[5]), "step_s": int(sys.argv[6]), "steady_s": int(sys.argv[7]),
    "kamailio": kam, "rtpengine": rtpe, "sig_agents": int(sys.argv[8]),
    "load_start": " ".join(open("/proc/loadavg").read().split()[:3])}))
EOF

# ---------------------------------------------------------------- start
if want hotline; then
    log "starting hotline on $HOTLINE_SIP (HTTP $HOTLINE_HTTP), $AGENTS agents"
    RUST_LOG=warn,hotline::media::call=info "$HOTLINE_BIN" serve --config "$WORK/hotline.toml" --log-format json \
        > "$WORK/hotline.log" 2>&1 &
    HOTLINE_PID=$!
    ready=
    for _ in $(seq 100); do
        if curl -fsS "http://$HOTLINE_HTTP/health" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$HOTLINE_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "hotline did not come up:" >&2; tail -20 "$WORK/hotline.log" >&2; exit 1; }
fi
if want kamailio && phase signalling; then
    log "starting Kamailio on $KAMAILIO_SIP (stateful proxy to 127.0.0.1:$UAS_PORT)"
    mkdir -p "$WORK/kamailio-run"
    kamailio -f "$WORK/kamailio.cfg" -DD -E -x tlsf -X tlsf -m 2048 -M 16 \
        -Y "$WORK/kamailio-run" -P "$WORK/kamailio-run/kamailio.pid" > "$WORK/kamailio.log" 2>&1 &
    KAMAILIO_PID=$!
    ready=
    for _ in $(seq 100); do
        if [ -s "$WORK/kamailio-run/kamailio.pid" ] && [ "$(pgrep -c -P "$KAMAILIO_PID" || true)" -ge 2 ]; then ready=1; break; fi
        kill -0 "$KAMAILIO_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "Kamailio did not come up:" >&2; tail -20 "$WORK/kamailio.log" >&2; exit 1; }
fi
if want rtpengine && phase media; then
    log "starting rtpengine (userspace, NG on $RTPENGINE_NG, RTP ports $RTPENGINE_RTP)"
    rtpengine --config-file=none --table=-1 --interface=127.0.0.1 --listen-ng="$RTPENGINE_NG" \
        --port-min="${RTPENGINE_RTP%-*}" --port-max="${RTPENGINE_RTP#*-}" --foreground --log-stderr \
        --log-level=4 --timeout=120 --delete-delay=0 > "$WORK/rtpengine.log" 2>&1 &
    RTPENGINE_PID=$!
    ready=
    for _ in $(seq 50); do
        if python3 "$BENCH/rtpengine_ng.py" "$RTPENGINE_NG" ping >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$RTPENGINE_PID" 2>/dev/null || break
        sleep 0.2
    done
    [ -n "$ready" ] || { echo "rtpengine did not come up:" >&2; tail -20 "$WORK/rtpengine.log" >&2; exit 1; }
fi

# The agents' UAS: answers hotline's and Kamailio's INVITEs, echoes RTP.
UAS_RUN=0
start_uas() {
    UAS_RUN=$((UAS_RUN + 1))
    log "starting the agents' SIPp UAS on 127.0.0.1:$UAS_PORT (RTP echo on $UAS_MP)"
    sipp -sf "$WORK/agent-uas.xml" -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MP" -rtp_echo \
        -cp "$CP_UAS" -nostdin -buff_size "$SIPP_BUFF" -timeout 1200 \
        -trace_stat -stf "$WORK/uas-$UAS_RUN.stat.csv" -fd 5 -trace_err -error_file "$WORK/uas-$UAS_RUN.errors.log" \
        > "$WORK/uas-$UAS_RUN.screen.log" 2>&1 &
    UAS_PID=$!
    sleep 1
    kill -0 "$UAS_PID" 2>/dev/null || { echo "SIPp UAS did not start:" >&2; tail "$WORK/uas-$UAS_RUN.screen.log" >&2; exit 1; }
}
stop_uas() {
    [ -n "$UAS_PID" ] || return 0
    kill "$UAS_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$UAS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$UAS_PID" 2>/dev/null || true
    wait "$UAS_PID" 2>/dev/null || true
    UAS_PID=
}

# register FIRST COUNT: agents FIRST.. FIRST+COUNT-1 of users.csv, from the
# UAS's port (hotline sends an agent's INVITE to the address its REGISTER came
# from, so the UAS must not be running meanwhile).
REGISTERED=0
register() {
    local first=$1 count=$2 rc=0 registered
    [ "$count" -gt 0 ] || return 0
    { echo SEQUENTIAL; tail -n +2 "$WORK/users.csv" | sed -n "$((first + 1)),$((first + count))p"; } > "$WORK/users-$first.csv"
    log "registering $count agents (Contact 127.0.0.1:$UAS_PORT)"
    sipp -sf "$ROOT/tests/sipp/register-auth.xml" -inf "$WORK/users-$first.csv" -auth_uri "$DOMAIN" \
        -i 127.0.0.1 -p "$UAS_PORT" -mp "$REG_MP" -cp "$CP_REG" -r 200 -m "$count" -nostdin \
        -buff_size "$SIPP_BUFF" -timeout 120 -timeout_error \
        -trace_err -error_file "$WORK/register-$first.errors.log" -trace_stat -stf "$WORK/register-$first.stat.csv" \
        "$HOTLINE_SIP" > "$WORK/register-$first.screen.log" 2>&1 || rc=$?
    registered=$(curl -fsS "http://$HOTLINE_HTTP/metrics" | awk '/^hotline_sip_registered_contacts/ { print $2 }')
    REGISTERED=$((first + count))
    log "registration: SIPp exit $rc, hotline holds ${registered:-?} contacts"
    if [ "${registered:-0}" -lt "$REGISTERED" ]; then
        echo "not every agent registered; see $WORK/register-$first.errors.log" >&2
    fi
}

# ---------------------------------------------------------------- registration
# The signalling steps run with SIG_AGENTS agents registered, the media steps
# with AGENTS (hotline rings the first free agent of all those registered, and
# the cost of that choice grows with their number).
if want hotline; then
    if phase signalling; then register 0 "$SIG_AGENTS"; else register 0 "$AGENTS"; fi
fi
start_uas

# ---------------------------------------------------------------- probes
probe() { # NAME [extra args]
    local name=$1; shift
    $PY probe "$WORK/samples/$name.json" \
        --pid "hotline=$HOTLINE_PID" --pid "kamailio=$KAMAILIO_PID+" --pid "rtpengine=$RTPENGINE_PID" \
        --pid "uas=$UAS_PID" --pid "uas2=$UAS2_PID" "$@"
}

# run_uac BASE TARGET SCENARIO args... : SIPp UAC in the background, its
# screen, statistics and CPU (bash `time`) in BASE.*; sets UAC_JOB.
start_uac() {
    local base=$1 target=$2 scenario=$3; shift 3
    (
        TIMEFORMAT='%U %S %R'
        time sipp -sf "$scenario" -s 12345 -i 127.0.0.1 -p "$UAC_PORT" -mi 127.0.0.1 -mp "$UAC_MP" \
            -cp "$CP_UAC" -nostdin -buff_size "$SIPP_BUFF" -recv_timeout 10000 -timeout_error \
            -trace_stat -stf "$base.stat.csv" -fd 1 -trace_err -error_file "$base.errors.log" \
            "$@" "$target" > "$base.screen.log" 2>&1
    ) 2> "$base.time" &
    UAC_JOB=$!
}
wait_uac() { # -> rc in $WORK/<base>.rc
    local base=$1 rc=0
    wait "$UAC_JOB" || rc=$?
    UAC_JOB=
    echo "$rc" > "$base.rc"
}
metric() { # NAME-REGEX -> summed value from hotline's /metrics
    curl -fsS "http://$HOTLINE_HTTP/metrics" 2>/dev/null | awk -v re="$1" '$1 ~ re { s += $2 } END { print s + 0 }'
}

# ---------------------------------------------------------------- preflight
TARGETS=""
for t in hotline:$HOTLINE_SIP kamailio:$KAMAILIO_SIP; do
    name=${t%%:*}; addr=${t#*:}
    want "$name" || continue
    phase signalling || [ "$name" = hotline ] || continue
    base=$WORK/$name-preflight
    start_uac "$base" "$addr" "$WORK/call-uac.xml" -m 1 -d 200 -timeout 20 -trace_msg -message_file "$base.messages.log"
    wait_uac "$base"
    if [ "$(cat "$base.rc")" = 0 ]; then
        TARGETS="$TARGETS $name:$addr"
        log "preflight $name: one call INVITE → 200 → ACK → BYE → 200"
    else
        log "preflight $name FAILED (SIPp exit $(cat "$base.rc")); skipping its steps"
        tail -5 "$base.errors.log" >&2 2>/dev/null || true
    fi
done

# Idle CPU of the servers over 3 s (the floor under every per-call figure).
probe idle-0; sleep 3; probe idle-1

# ---------------------------------------------------------------- signalling
if phase signalling; then
    : > "$WORK/sig-steps.jsonl"
    FAILED_ON=" "
    if want hotline; then
        ls -1 "$WORK/hotline-data/recordings" >/dev/null 2>&1 || true
        $PY recordings "$WORK/hotline-data/recordings" /dev/null "$WORK/sig-rec-before.list" "$WORK/sig-rec-before.json"
    fi
    for rate in $RATES; do
        for t in $TARGETS; do
            name=${t%%:*}; addr=${t#*:}
            case $FAILED_ON in *" $name "*) continue ;; esac
            case $name in hotline) pid=$HOTLINE_PID ;; kamailio) pid=$KAMAILIO_PID ;; esac
            calls=$((rate * STEP_S))
            base=$WORK/sig-$name-$rate
            load1=$(cut -d' ' -f1 /proc/loadavg)
            errs0=0; [ "$name" = hotline ] && errs0=$(metric '^hotline_sip_messages_sent_total.*status="[45]')
            probe "sig-$name-$rate-0"
            t0=$(date +%s%N)
            log "$name: $calls calls at $rate/s, hold $HOLD_MS ms"
            start_uac "$base" "$addr" "$WORK/call-uac.xml" -r "$rate" -m "$calls" -d "$HOLD_MS" \
                -timeout $((STEP_S + HOLD_MS / 1000 + 40))
            wait_uac "$base"
            t1=$(date +%s%N)
            probe "sig-$name-$rate-1"
            errs1=0; [ "$name" = hotline ] && errs1=$(metric '^hotline_sip_messages_sent_total.*status="[45]')
            python3 - "$WORK" "$name" "$rate" "$calls" "$t0" "$t1" "$load1" "$((errs1 - errs0))" "$HOLD_MS" <<'EOF' >> "$WORK/sig-steps.jsonl"
import json, sys, pathlib
work, name, rate, calls, t0, t1, load1, errs, hold = sys.argv[1:]
w = pathlib.Path(work)
a = json.loads((w / f"samples/sig-{name}-{rate}-0.json").read_text())
b = json.loads((w / f"samples/sig-{name}-{rate}-1.json").read_text())
wall = (int(t1) - int(t0)) / 1e9
u, s, r = (float(x) for x in (w / f"sig-{name}-{rate}.time").read_text().split()[-3:])
print(json.dumps({
    "server": name, "rate": int(rate), "calls": int(calls), "wall": wall,
    # the time calls were being placed: wall minus one hold and the last BYE
    "calls_wall": max(wall - int(hold) / 1000, 1e-3),
    "stat": str(w / f"sig-{name}-{rate}.stat.csv"),
    "server_ticks": b["cpu"].get(name, 0) - a["cpu"].get(name, 0),
    "uas_ticks": b["cpu"].get("uas", 0) - a["cpu"].get("uas", 0),
    "uac_cpu_s": u + s, "load1": load1,
    "hotline_errors": int(errs) if name == "hotline" else "–",
    "rc": int((w / f"sig-{name}-{rate}.rc").read_text())}))
EOF
            # A step that failed more than 0.1 % of its calls or fell short of
            # 95 % of the offered rate ends this server's signalling steps.
            if ! python3 - "$WORK/sig-steps.jsonl" <<'EOF'
import csv, json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
rows = list(csv.reader(open(s["stat"]), delimiter=";"))
st = dict(zip(rows[0], rows[-1]))
ok, failed = int(st["SuccessfulCall(C)"]), int(st["FailedCall(C)"])
sys.exit(0 if failed <= 0.001 * s["calls"] and ok + failed == s["calls"] and ok / s["calls_wall"] >= 0.95 * s["rate"] else 1)
EOF
            then
                log "$name: step $rate/s not clean; no higher rates for $name"
                FAILED_ON="$FAILED_ON$name "
            fi
            if [ "$name" = hotline ] && ! kill -0 "$HOTLINE_PID" 2>/dev/null; then
                log "hotline has exited!"; FAILED_ON="$FAILED_ON$name "
            fi
            sleep 2
        done
    done
    if want hotline; then
        sleep 2
        $PY recordings "$WORK/hotline-data/recordings" "$WORK/sig-rec-before.list" "$WORK/sig-rec-after.list" "$WORK/sig-recordings.json"
        $PY db "$WORK/hotline-data/hotline.db" "$WORK/sig-db.json"
        # Silence padding only: free the disk before the media steps.
        [ -n "${KEEP_RECORDINGS:-}" ] || find "$WORK/hotline-data/recordings" -name '*.wav' -delete
    fi
    if [ -n "$KAMAILIO_PID" ]; then
        kill "$KAMAILIO_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$KAMAILIO_PID" 2>/dev/null || break; sleep 0.1; done
        KAMAILIO_PID=
    fi
fi

# ---------------------------------------------------------------- media
if phase media; then
    if want hotline && [ "$REGISTERED" -lt "$AGENTS" ]; then
        stop_uas
        register "$REGISTERED" $((AGENTS - REGISTERED))
        start_uas
    fi
    : > "$WORK/media-steps.jsonl"
    for n in $MEDIA_CALLS; do
        rate=$(( n / RAMP_S )); [ "$rate" -ge 10 ] || rate=10
        ramp=$(( (n + rate - 1) / rate ))
        hold_ms=$(( (ramp + STEADY_S + 5) * 1000 ))
        for relay in hotline rtpengine; do
            want "$relay" || continue
            case $relay in
                hotline)
                    case " $TARGETS " in *" hotline:"*) ;; *) continue ;; esac
                    target=$HOTLINE_SIP; relay_ports=$HOTLINE_RTP; echo_port=$UAS_MP; ng=() ;;
                rtpengine)
                    [ -n "$RTPENGINE_PID" ] || continue
                    target=127.0.0.1:$UAS2_PORT; relay_ports=$RTPENGINE_RTP; echo_port=$UAS2_MP; ng=(--ng "$RTPENGINE_NG")
                    log "rtpengine: offer/answer for $n calls"
                    python3 "$BENCH/rtpengine_ng.py" "$RTPENGINE_NG" setup "$n" "127.0.0.1:$UAC_MP" \
                        "127.0.0.1:$UAS2_MP" "$WORK/rtpengine-$n.csv"
                    sipp -sf "$WORK/agent-uas-rtpengine.xml" -inf "$WORK/rtpengine-$n.csv" -i 127.0.0.1 \
                        -p "$UAS2_PORT" -mi 127.0.0.1 -mp "$UAS2_MP" -rtp_echo -cp "$CP_UAS2" -nostdin \
                        -buff_size "$SIPP_BUFF" -timeout $((hold_ms / 1000 + ramp + 60)) \
                        -trace_err -error_file "$WORK/uas2-$n.errors.log" > "$WORK/uas2-$n.screen.log" 2>&1 &
                    UAS2_PID=$!
                    sleep 1 ;;
            esac
            base=$WORK/media-$relay-$n
            pargs=(--ports "relay=$relay_ports" --ports "echo=$echo_port-$echo_port" --ports "uac=$UAC_MP-$UAC_MP"
                --ports "sip=${HOTLINE_SIP##*:}-${HOTLINE_SIP##*:}" "${ng[@]}")
            [ "$relay" = hotline ] && pargs+=(--metrics "http://$HOTLINE_HTTP/metrics")
            logline=$(wc -l < "$WORK/hotline.log" 2>/dev/null || echo 0)
            if [ "$relay" = hotline ]; then
                $PY db "$WORK/hotline-data/hotline.db" "$base.db0.json"
                # The recordings already there (the preflight's, earlier steps' if kept).
                $PY recordings "$WORK/hotline-data/recordings" /dev/null "$WORK/media-rec.list" /dev/null
            fi
            probe "media-$relay-$n-pre" "${pargs[@]}"
            log "$relay: $n calls with RTP both ways ($rate calls/s for ${ramp} s, hold $((hold_ms / 1000)) s)"
            start_uac "$base" "$target" "$WORK/call-uac-rtp.xml" -r "$rate" -m "$n" -l "$n" -d "$hold_ms" \
                -timeout $((hold_ms / 1000 + ramp + 60))
            uac_pid=
            for _ in $(seq 20); do uac_pid=$(pgrep -P "$UAC_JOB" -x sipp || true); [ -n "$uac_pid" ] && break; sleep 0.1; done
            sleep $((ramp + 2))
            probe "media-$relay-$n-w0" "${pargs[@]}" --pid "uac=$uac_pid"
            # Calls SIPp has up at the start of the window (its last 1 s statistics line).
            sipp_up=$(tail -1 "$base.stat.csv" 2>/dev/null | cut -d';' -f14)
            sleep "$STEADY_S"
            probe "media-$relay-$n-w1" "${pargs[@]}" --pid "uac=$uac_pid"
            wait_uac "$base"
            sleep 3
            probe "media-$relay-$n-post" "${pargs[@]}"
            if [ "$relay" = hotline ]; then
                $PY mediastats "$WORK/hotline.log" "$logline" "$base.mediastats.json"
                $PY recordings "$WORK/hotline-data/recordings" "$WORK/media-rec.list" "$WORK/media-rec.list.new" "$base.rec.json" --audio
                $PY db "$WORK/hotline-data/hotline.db" "$base.db1.json"
                [ -n "${KEEP_RECORDINGS:-}" ] || find "$WORK/hotline-data/recordings" -name '*.wav' -delete
                kill -0 "$HOTLINE_PID" 2>/dev/null || log "hotline has exited!"
            else
                kill "$UAS2_PID" 2>/dev/null || true
                wait "$UAS2_PID" 2>/dev/null || true
                UAS2_PID=
                python3 "$BENCH/rtpengine_ng.py" "$RTPENGINE_NG" delete "$WORK/rtpengine-$n.csv" > "$base.ngtotals.json" || true
            fi
            python3 - "$base" "$relay" "$n" "$hold_ms" "$WORK" "${sipp_up:-?}" <<'EOF' >> "$WORK/media-steps.jsonl"
import json, sys
base, relay, n, hold, work, sipp_up = sys.argv[1:]
s = lambda k: f"{work}/samples/media-{relay}-{n}-{k}.json"
print(json.dumps({"relay": relay, "calls": int(n), "hold_ms": int(hold), "stat": base + ".stat.csv", "sipp_up": sipp_up,
                  "pre": s("pre"), "w0": s("w0"), "w1": s("w1"), "post": s("post"),
                  "mediastats": base + ".mediastats.json", "rec": base + ".rec.json",
                  "db0": base + ".db0.json", "db1": base + ".db1.json",
                  "ngtotals": base + ".ngtotals.json"}))
EOF
            sleep 2
        done
    done
fi

# ---------------------------------------------------------------- report
cut -d' ' -f1-3 /proc/loadavg > "$WORK/loadavg-end"
if [ -n "$HOTLINE_PID" ]; then
    if kill -0 "$HOTLINE_PID" 2>/dev/null; then
        python3 - "$HOTLINE_PID" "http://$HOTLINE_HTTP/metrics" "$WORK/health.json" <<'EOF'
import json, sys, urllib.request, pathlib
pid, url, out = sys.argv[1:]
m = {}
for l in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
    if l.startswith(("hotline_media_calls", "hotline_sip_transactions", "hotline_sip_udp_dropped_total", "hotline_media_timeouts_total")):
        k, v = l.rsplit(" ", 1); m[k] = float(v)
rss = next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
fds = len(list(pathlib.Path(f"/proc/{pid}/fd").iterdir()))
threads = next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Threads"))
pathlib.Path(out).write_text(json.dumps({"alive": True, "rss_mb": round(int(rss) / 1024), "open_fds": fds, "threads": int(threads), **m}))
EOF
    else
        echo '{"alive": false}' > "$WORK/health.json"
    fi
fi
log "report"
$PY report "$WORK"
log "done in $(( $(date +%s) - T_START )) s"
