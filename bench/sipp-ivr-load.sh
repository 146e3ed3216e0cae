#!/usr/bin/env bash
# IVR and queue load: trunk calls through the voice menu into an ACD queue
# answered by SIPp agents, beside the same calls rung straight to an agent
# (`[hotline] routing = "direct"`), in one run, on the release build.
#
#   bench/sipp-ivr-load.sh            # from the repository root (or anywhere)
#
# The server runs the built-in default configuration (config/hotline.example.toml:
# the demo menu, queues and the committed prompts) with these changes only:
# loopback ports of its own, AGENTS bench agents (skills lang:cmn and lang:yue)
# plus one supervisor instead of the demo seats, MD5 offered first (SIPp),
# wrap-up 0 s and no shifts on every queue (so an agent is free again as soon
# as its call ends and the hour does not matter).
#
# Each call (tests/sipp/ivr_caller.xml, SIPp UAC from the trusted trunk
# 127.0.0.1): INVITE 12345 → the server answers → ACK → 1 s of the greeting →
# the key 2 (Cantonese) as RFC 4733 events (SIPp's dtmf_2833_2.pcap, played
# with a raw socket: run as root) → the server plays "transfer-agent" (3.5 s)
# and queues the call in `cantonese` → the ACD rings an agent →
# tests/sipp/ivr_agent.xml answers (one SIPp UAS plays all AGENTS agents,
# registered from its port with digest auth, logged in and set ready over the
# HTTP API by bench/ivr-load.py) → the caller hangs up after
# 1 s + MENU_MS + HOLD_MS from the answer. Prompts play in real time: the
# agent answers about 4.3 s after the server did (1 s of greeting, the key,
# 3.5 s of "transfer-agent", the ring), so a call lasts about
# 1 + (MENU_MS + HOLD_MS)/1000 s (6.3 s by default) and the server holds about
# rate × that many calls at once (630 at 100 calls/s). An agent is busy about
# 1 s + HOLD_MS per call (with MENU_MS = 4300): AGENTS / 2 s = 100 calls/s is
# where the agents run out and callers start to wait (and hang up unanswered,
# counted as bad). The direct steps run the same scenario with -d HOLD_MS (the
# key goes to the agent as RTP, unread; the agent is busy the same 2 s).
#
# A call counts as good when SIPp completed it (200 to the INVITE and the BYE)
# and its call detail record names an agent; the steps of a mode go up RATES
# and stop after the first one with more than 0.1 % bad calls or below 95 % of
# the offered rate. CPU: utime+stime of hotline (and of both SIPp processes)
# from /proc/PID/stat, from the start of a step to 2 s after its last call
# ended, divided by its good calls. Writes $WORK/results.md.
#
# Environment (defaults in brackets):
#   AGENTS    SIPp agents registered and ready [200]
#   RATES     calls/s of the steps ["10 20 40 60 80 100"]
#   STEP_S    seconds of new calls per step [20]
#   MENU_MS   the caller's time in the menu and queue after the key [4300]
#   HOLD_MS   the caller's -d in the direct steps, and added to MENU_MS in
#             the IVR steps [1000]
#   MODES     ["ivr direct"]
#   WORK      directory for configs, logs, statistics [mktemp -d]
#   NO_BUILD  set to skip `cargo build --release`
#   SIPP_BUFF SIPp socket buffers, bytes [1048576]
#
# Loopback only. Ports: SIP 5370, HTTP 8390, agents' UAS 5380, caller 5381,
# SIPp media 26400/26600/26800, hotline RTP 61000-65499 (above the ephemeral
# range, 32768-60999, and clear of every other bench and test file, so it can
# be started beside them, although the CPU figures then mean little; 2250
# pairs: a call holds 2, about 1100 calls at once). Everything started is
# stopped on exit.
set -euo pipefail

AGENTS=${AGENTS:-200}
RATES=${RATES:-"10 20 40 60 80 100"}
STEP_S=${STEP_S:-20}
MENU_MS=${MENU_MS:-4300}
HOLD_MS=${HOLD_MS:-1000}
MODES=${MODES:-"ivr direct"}
SIPP_BUFF=${SIPP_BUFF:-1048576}

HOTLINE_SIP=127.0.0.1:5370
HOTLINE_HTTP=127.0.0.1:8390
UAS_PORT=5380 UAC_PORT=5381
UAS_MP=26400 UAC_MP=26600 REG_MP=26800
HOTLINE_RTP=61000-65499
CP_REG=8981 CP_UAS=8982 CP_UAC=8983
DOMAIN=hotline.test

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/hotline-ivr-bench.XXXXXX)}
mkdir -p "$WORK"
CLK_TCK=$(getconf CLK_TCK)
T_START=$(date +%s)
log() { echo "== [$(( $(date +%s) - T_START ))s] $*" >&2; }

for tool in sipp python3 curl ss; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sip-tester python3 curl iproute2)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "SIPp plays the RFC 4733 pcap with a raw socket: run as root" >&2; exit 2; }
PCAP=/usr/share/sip-tester/dtmf_2833_2.pcap
[ -r "$PCAP" ] || { echo "missing $PCAP (sip-tester)" >&2; exit 2; }
for port in ${HOTLINE_SIP##*:} $UAS_PORT $UAC_PORT $UAS_MP $((UAS_MP + 2)) $UAC_MP $((UAC_MP + 2)) $REG_MP; do
    if ss -Hlun "sport = :$port" | grep -q .; then echo "UDP port $port is busy; stop what uses it" >&2; exit 2; fi
done
if ss -Hltn "sport = :${HOTLINE_HTTP##*:}" | grep -q .; then echo "TCP port ${HOTLINE_HTTP##*:} is busy" >&2; exit 2; fi
r=$HOTLINE_RTP
if [ "$(ss -Hlun "( sport >= :${r%-*} and sport <= :${r#*-} )" | wc -l)" != 0 ]; then
    echo "UDP ports $r are partly in use" >&2; exit 2
fi

HOTLINE_PID= UAS_PID= UAC_PID=
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$UAC_PID"; stop_pid "$UAS_PID"; stop_pid "$HOTLINE_PID"
    find "$WORK" -path '*/recordings/*' -name '*.wav' -delete 2>/dev/null || true
    echo "logs and statistics kept in $WORK" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
TREE=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then TREE="$TREE + uncommitted changes"; fi
if [ -z "${NO_BUILD:-}" ]; then
    log "building hotline (release)"
    (cd "$ROOT" && cargo build --release --bin hotline)
fi
# A copy, so a build by someone else cannot replace it mid-run.
cp "$ROOT/target/release/hotline" "$WORK/hotline"

# ---------------------------------------------------------------- files
python3 "$ROOT/bench/ivr-load.py" config "$ROOT" "$WORK" "$AGENTS" "$DOMAIN" "$HOTLINE_SIP" "$HOTLINE_HTTP" "$HOTLINE_RTP"
for mode in $MODES; do
    "$WORK/hotline" config check "$WORK/hotline-$mode.toml" > "$WORK/config-check-$mode.log" 2>&1 \
        || { cat "$WORK/config-check-$mode.log" >&2; exit 1; }
done

ticks() { # PID -> utime+stime in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

start_hotline() { # MODE
    local mode=$1 ready=
    log "starting hotline ($mode) on $HOTLINE_SIP (HTTP $HOTLINE_HTTP)"
    (cd "$ROOT" && RUST_LOG=warn exec "$WORK/hotline" serve --config "$WORK/hotline-$mode.toml" --log-format json \
        > "$WORK/hotline-$mode.log" 2>&1) &
    HOTLINE_PID=$!
    for _ in $(seq 100); do
        if curl -fsS "http://$HOTLINE_HTTP/health" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$HOTLINE_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "hotline did not come up:" >&2; tail -20 "$WORK/hotline-$mode.log" >&2; exit 1; }
    # The subshell exec'd: $HOTLINE_PID is the server itself.
}

register_agents() { # MODE
    local mode=$1 rc=0
    log "registering $AGENTS agents (Contact 127.0.0.1:$UAS_PORT)"
    sipp -sf "$ROOT/tests/sipp/register-auth.xml" -inf "$WORK/agents.csv" -auth_uri "$DOMAIN" \
        -i 127.0.0.1 -p "$UAS_PORT" -mp "$REG_MP" -cp "$CP_REG" -r 100 -m "$AGENTS" -nostdin \
        -buff_size "$SIPP_BUFF" -timeout 120 -timeout_error \
        -trace_err -error_file "$WORK/register-$mode.errors.log" \
        "$HOTLINE_SIP" > "$WORK/register-$mode.screen.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || { echo "registration failed (SIPp exit $rc); see $WORK/register-$mode.errors.log" >&2; exit 1; }
}

start_uas() { # MODE
    local mode=$1
    log "starting the agents' SIPp UAS on 127.0.0.1:$UAS_PORT"
    sipp -sf "$ROOT/tests/sipp/ivr_agent.xml" -i 127.0.0.1 -p "$UAS_PORT" -mi 127.0.0.1 -mp "$UAS_MP" \
        -cp "$CP_UAS" -nostdin -buff_size "$SIPP_BUFF" -timeout 3600 \
        -trace_err -error_file "$WORK/uas-$mode.errors.log" > "$WORK/uas-$mode.screen.log" 2>&1 &
    UAS_PID=$!
    sleep 1
    kill -0 "$UAS_PID" 2>/dev/null || { echo "SIPp UAS did not start:" >&2; tail "$WORK/uas-$mode.screen.log" >&2; exit 1; }
}

: > "$WORK/steps.jsonl"
for mode in $MODES; do
    start_hotline "$mode"
    register_agents "$mode"
    if [ "$mode" = ivr ]; then
        log "logging $AGENTS agents in and setting them ready"
        python3 "$ROOT/bench/ivr-load.py" ready "http://$HOTLINE_HTTP" "$WORK/agents.csv"
    fi
    start_uas "$mode"
    case $mode in ivr) hold=$((MENU_MS + HOLD_MS)) ;; *) hold=$HOLD_MS ;; esac
    for rate in $RATES; do
        calls=$((rate * STEP_S))
        base=$WORK/$mode-$rate
        h0=$(ticks "$HOTLINE_PID"); s0=$(ticks "$UAS_PID"); t0=$(date +%s%3N)
        log "$mode: $calls calls at $rate/s, caller stays $hold ms after the answer"
        rc=0
        sipp -sf "$ROOT/tests/sipp/ivr_caller.xml" -key domain "$DOMAIN" -i 127.0.0.1 -p "$UAC_PORT" \
            -mi 127.0.0.1 -mp "$UAC_MP" -cp "$CP_UAC" -nostdin -buff_size "$SIPP_BUFF" \
            -r "$rate" -m "$calls" -l 100000 -d "$hold" -timeout $((STEP_S + hold / 1000 + 60)) -timeout_error \
            -trace_stat -stf "$base.stat.csv" -fd 1 -trace_err -error_file "$base.errors.log" \
            "$HOTLINE_SIP" > "$base.screen.log" 2>&1 &
        UAC_PID=$!
        c0=$(ticks "$UAC_PID")
        # The UAC's own CPU, sampled until it exits (its /proc entry goes then).
        c1=$c0
        while kill -0 "$UAC_PID" 2>/dev/null; do
            c=$(ticks "$UAC_PID"); [ "$c" = 0 ] || c1=$c
            sleep 0.5
        done
        wait "$UAC_PID" || rc=$?
        UAC_PID=
        t1=$(date +%s%3N)
        sleep 2
        h1=$(ticks "$HOTLINE_PID"); s1=$(ticks "$UAS_PID")
        python3 "$ROOT/bench/ivr-load.py" step "$WORK" "$mode" "$rate" "$calls" "$t0" "$t1" \
            "$((h1 - h0))" "$((s1 - s0))" "$((c1 - c0))" "$CLK_TCK" "$rc" "http://$HOTLINE_HTTP" >> "$WORK/steps.jsonl"
        # Silence padding only (the SIPp peers send no audio): free the disk.
        # Files only: a call still ending keeps its directory.
        find "$WORK/data-$mode/recordings" -name '*.wav' -delete 2>/dev/null || true
        kill -0 "$HOTLINE_PID" 2>/dev/null || { log "hotline has exited!"; break; }
        if ! python3 -c 'import json,sys; s=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(0 if s["clean"] else 1)' "$WORK/steps.jsonl"; then
            log "$mode: step $rate/s not clean; no higher rates"
            break
        fi
        sleep 3
    done
    stop_pid "$UAS_PID"; UAS_PID=
    stop_pid "$HOTLINE_PID"; HOTLINE_PID=
done

python3 "$ROOT/bench/ivr-load.py" report "$WORK" "$TREE" "$AGENTS" "$STEP_S" "$MENU_MS" "$HOLD_MS" > "$WORK/results.md"
cat "$WORK/results.md"
log "done in $(( $(date +%s) - T_START )) s"
