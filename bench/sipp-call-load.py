#!/usr/bin/env python3
"""Helpers of bench/sipp-call-load.sh (measurements and the report).

  probe OUT [--pid NAME=PID[+]]... [--ports NAME=LO-HI]... [--metrics URL] [--ng ADDR]
      One sample, as JSON in OUT: wall clock, CPU ticks (utime+stime of the
      process, all threads; "+" adds its direct children, Kamailio's workers),
      VmRSS, kernel receive-buffer drops of the UDP sockets bound in each port
      range (/proc/net/udp), hotline's /metrics counters, rtpengine's totals
      (NG `statistics`), the load average.
  recordings DIR SINCE_LIST OUT_LIST OUT_JSON [--audio]
      The WAV files under DIR not listed in SINCE_LIST: count, durations,
      format, and with --audio the silent stretches of each channel (a 440 Hz
      tone goes in, so a silent 100 ms block in the middle of a call is a hole).
      Writes the current list to OUT_LIST.
  mediastats LOG SINCE_LINE OUT_JSON
      Sums the per-call "media closed" reports (JSON log, target
      hotline::media::call) after line SINCE_LINE.
  db DB OUT_JSON
      Row counts of the CDR and recording index tables.
  report WORK
      The tables (stdout and WORK/results.md).
"""
import json
import os
import pathlib
import sqlite3
import sys
import time
import urllib.request
import wave
import warnings

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid, children):
    pids = [pid]
    if children:
        try:
            for t in os.listdir(f"/proc/{pid}/task"):
                kids = pathlib.Path(f"/proc/{pid}/task/{t}/children").read_text().split()
                pids += [int(k) for k in kids]
        except OSError:
            pass
    total = 0
    for p in pids:
        try:
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def rss_kb(pid, children):
    pids = [pid]
    if children:
        try:
            pids += [int(k) for k in pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            pass
    total = 0
    for p in pids:
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def udp_drops(lo, hi):
    drops = sockets = 0
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = pathlib.Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            port = int(f[1].rsplit(":", 1)[1], 16)
            if lo <= port <= hi:
                drops += int(f[-1])
                sockets += 1
    return drops, sockets


def metrics(url):
    out = {}
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def ng_stats(addr):
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    ng_mod = __import__("rtpengine_ng")
    r = ng_mod.Ng(addr)("statistics")
    tot = r["statistics"]["totalstatistics"]
    return {k: tot.get(k, 0) for k in ("relayedpackets", "relayedpacketerrors", "relayedbytes")}


def probe(argv):
    out = argv[0]
    sample = {"t": time.time(), "cpu": {}, "rss": {}, "drops": {}, "sockets": {}}
    it = iter(argv[1:])
    for flag in it:
        val = next(it)
        if flag == "--pid":
            name, pid = val.split("=")
            children = pid.endswith("+")
            pid = int(pid.rstrip("+") or 0)
            if pid and os.path.exists(f"/proc/{pid}"):
                sample["cpu"][name] = cpu_ticks(pid, children)
                sample["rss"][name] = rss_kb(pid, children)
        elif flag == "--ports":
            name, rng = val.split("=")
            lo, hi = (int(x) for x in rng.split("-"))
            sample["drops"][name], sample["sockets"][name] = udp_drops(lo, hi)
        elif flag == "--metrics":
            sample["metrics"] = metrics(val)
        elif flag == "--ng":
            try:
                sample["ng"] = ng_stats(val)
            except Exception as e:  # noqa: BLE001 - reported, not fatal
                sample["ng_error"] = str(e)
    sample["load"] = pathlib.Path("/proc/loadavg").read_text().split()[:3]
    pathlib.Path(out).write_text(json.dumps(sample))


def recordings(argv):
    root, since, out_list, out_json = (pathlib.Path(a) for a in argv[:4])
    audio = "--audio" in argv
    seen = set(since.read_text().split()) if since.exists() else set()
    files = sorted(str(p) for p in root.rglob("*.wav"))
    out_list.write_text("\n".join(files) + "\n")
    new = [f for f in files if f not in seen]
    res = {"files": len(new), "durations": [], "bad_format": 0, "unreadable": 0,
           "holes_caller": 0, "holes_agent": 0, "files_with_holes": 0, "bytes": 0,
           "late_start": 0, "late_start_s": 0.0}
    if audio:
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # noqa: PLC0415 - Python 3.11 still has it; C speed
    for f in new:
        try:
            res["bytes"] += os.path.getsize(f)
            with wave.open(f) as w:
                ch, rate, width, n = w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()
                res["durations"].append(n / rate if rate else 0)
                if (ch, rate, width) != (2, 8000, 2):
                    res["bad_format"] += 1
                    continue
                if not audio:
                    continue
                # In 100 ms blocks: the leading stretch where both channels
                # are silent (the recording started late: audio lost before
                # it), then the silent blocks of each channel after it up to
                # the last second (the stream stops before the BYE).
                block = rate // 10
                lead, holes, pos, end = None, [0, 0], 0, n - rate
                while pos + block <= end:
                    data = w.readframes(block)
                    pos += block
                    silent = [audioop.max(audioop.tomono(data, 2, 1 - c, c), 2) < 64 for c in (0, 1)]
                    if lead is None:
                        if all(silent):
                            continue
                        lead = pos - block
                    for c in (0, 1):
                        holes[c] += silent[c]
                lead_s = (lead if lead is not None else n) / rate
                # The tone starts with the caller's ACK: up to 0.5 s is normal.
                if lead_s > 1.0:
                    res["late_start"] += 1
                    res["late_start_s"] += lead_s
                res["holes_caller"] += holes[0]
                res["holes_agent"] += holes[1]
                res["files_with_holes"] += 1 if holes[0] or holes[1] else 0
        except (OSError, EOFError, wave.Error):
            res["unreadable"] += 1
    d = sorted(res.pop("durations"))
    if d:
        res["dur_min"], res["dur_median"], res["dur_max"] = d[0], d[len(d) // 2], d[-1]
    out_json.write_text(json.dumps(res))


def mediastats(argv):
    log, since, out = pathlib.Path(argv[0]), int(argv[1]), pathlib.Path(argv[2])
    keys = ("caller_in", "caller_out", "agent_in", "agent_out", "dropped", "send_errors",
            "recorder_dropped_frames", "malformed", "unexpected_source")
    tot = {k: 0 for k in keys}
    tot["calls"] = 0
    tot["recorded"] = 0
    tot["duration_ms"] = 0
    with log.open(errors="replace") as f:
        for i, line in enumerate(f):
            if i < since or '"media closed"' not in line or "hotline::media::call" not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            tot["calls"] += 1
            tot["recorded"] += 1 if ev.get("recorded") else 0
            tot["duration_ms"] += int(ev.get("duration_ms", 0))
            for k in keys:
                tot[k] += int(ev.get(k, 0))
    out.write_text(json.dumps(tot))


def db(argv):
    path, out = argv[0], pathlib.Path(argv[1])
    res = {}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        for q, k in (("SELECT count(*) FROM cdrs", "cdrs"),
                     ("SELECT count(*) FROM recordings", "recordings"),
                     ("SELECT coalesce(sum(dropped_frames),0) FROM recordings", "dropped_frames"),
                     ("SELECT count(*) FROM cdrs WHERE reason = 'normal'", "cdrs_normal")):
            res[k] = con.execute(q).fetchone()[0]
        con.close()
    except sqlite3.Error as e:
        res["error"] = str(e)
    out.write_text(json.dumps(res))


# --------------------------------------------------------------------- report

def load(p):
    try:
        return json.loads(pathlib.Path(p).read_text())
    except (OSError, ValueError):
        return None


def last_stats(path):
    import csv  # noqa: PLC0415
    rows = list(csv.reader(open(path), delimiter=";"))
    return dict(zip(rows[0], rows[-1]))


def ms_of(t):
    """SIPp's HH:MM:SS:uuuuuu as milliseconds."""
    h, m, sec, us = (int(x) for x in t.split(":"))
    return ((h * 60 + m) * 60 + sec) * 1000 + us / 1000


def setup_times(stat):
    """INVITE→200 as SIPp measured it: the mean over the run, and the worst
    of its one-second means."""
    import csv  # noqa: PLC0415
    rows = list(csv.reader(open(stat), delimiter=";"))
    i = rows[0].index("ResponseTime1(P)")
    worst = max((ms_of(r[i]) for r in rows[1:]), default=0)
    mean = ms_of(dict(zip(rows[0], rows[-1]))["ResponseTime1(C)"])
    return f"{mean:,.0f} / {worst:,.0f} ms"


def report(argv):
    work = pathlib.Path(argv[0])
    meta = json.loads((work / "meta.json").read_text())
    out = []
    p = out.append
    p(f"Machine: {meta['cores']} cores, `{meta['cpu']}`; hotline built from {meta['tree']}; "
      f"SIPp 3.6.1, Kamailio {meta['kamailio']}, rtpengine {meta['rtpengine']} (userspace). "
      f"Load average (1/5/15 min) at the start: {meta['load_start']}, at the end: "
      f"{(work / 'loadavg-end').read_text().strip() if (work / 'loadavg-end').exists() else '?'}.")
    i0, i1 = load(work / "samples/idle-0.json"), load(work / "samples/idle-1.json")
    if i0 and i1:
        dt = i1["t"] - i0["t"]
        idle = ", ".join(f"{k} {(i1['cpu'][k] - i0['cpu'][k]) / CLK_TCK / dt:.1%}"
                         for k in ("hotline", "kamailio", "rtpengine") if k in i0["cpu"] and k in i1["cpu"])
        p(f"Idle CPU of the servers before the steps (% of one core): {idle}.")
    p("")

    # ---------------- signalling
    steps = [json.loads(l) for l in (work / "sig-steps.jsonl").read_text().splitlines()] \
        if (work / "sig-steps.jsonl").exists() else []
    if steps:
        p(f"### Signalling: INVITE → 200 → ACK → {meta['hold_ms']} ms → BYE → 200, no RTP")
        p("")
        p(f"{meta.get('sig_agents', meta['agents'])} agents registered (hotline picks the first free one); "
          f"{meta['step_s']} s of calls per step; a step is *clean* with < 0.1 % failed calls, "
          "every call finished and ≥ 95 % of the offered rate achieved. "
          "CPU: utime+stime from /proc over the step (server: all threads, Kamailio with its "
          "children); SIPp UAC (bash `time`) and UAS (/proc) separately. "
          "`% core` = CPU seconds / wall seconds.")
        p("")
        p("| server | offered/s | calls | achieved/s | failed | retrans | INVITE→200 <10 ms | server CPU % core | server CPU ms/call | SIPp UAC % | SIPp UAS % | hotline 4xx/5xx sent | load1 |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        best, cost = {}, {}
        for s in steps:
            st = last_stats(s["stat"])
            ok, failed = int(st["SuccessfulCall(C)"]), int(st["FailedCall(C)"])
            created = int(st["OutgoingCall(C)"])
            retrans = int(st["Retransmissions(C)"])
            wall = s["wall"]
            achieved = ok / max(s["calls_wall"], 1e-9)
            done = ok + failed or 1
            lt10 = sum(int(st.get(f"ResponseTimeRepartition1_<{b}", 0)) for b in (1, 2, 5, 10)) / done
            cpu_s = s["server_ticks"] / CLK_TCK
            ms_call = cpu_s / ok * 1e3 if ok else float("nan")
            uac = s["uac_cpu_s"] / wall
            uas = s["uas_ticks"] / CLK_TCK / wall
            errs = s.get("hotline_errors", "–")
            clean = (failed <= 0.001 * s["calls"] and ok + failed == s["calls"]
                     and achieved >= 0.95 * s["rate"])
            s["clean"] = clean
            if clean:
                best[s["server"]] = max(best.get(s["server"], 0), achieved)
                cost.setdefault(s["server"], {})[s["rate"]] = ms_call
            p(f"| {s['server']} | {s['rate']} | {s['calls']} | {achieved:.0f} | {failed} | {retrans} | "
              f"{lt10:.1%} | {cpu_s / wall:.0%} | {ms_call:.3f} | {uac:.0%} | {uas:.0%} | {errs} | {s['load1']} |"
              + ("" if clean else " ✗"))
        p("")
        for name in ("hotline", "kamailio"):
            if name in best:
                top = max(cost[name])
                p(f"- {name}: highest clean step **{best[name]:.0f} calls/s**; server CPU "
                  f"{cost[name][top]:.3f} ms per call there (= {cost[name][top]:.2f} CPU-seconds per 1,000 calls).")
            elif any(s["server"] == name for s in steps):
                p(f"- {name}: no clean step.")
        if "hotline" in best and "kamailio" in best:
            common = sorted(set(cost["hotline"]) & set(cost["kamailio"]))
            p(f"- **ratio hotline/Kamailio, highest clean rate: {best['hotline'] / best['kamailio']:.2f}**")
            if common:
                r = common[-1]
                p(f"- **ratio hotline/Kamailio, CPU per call at {r}/s (highest rate clean on both): "
                  f"{cost['hotline'][r] / cost['kamailio'][r]:.1f}×** "
                  f"({cost['hotline'][r]:.3f} against {cost['kamailio'][r]:.3f} ms)")
        sig = load(work / "sig-recordings.json")
        sdb = load(work / "sig-db.json")
        if sig:
            okh = sum(int(last_stats(s["stat"])["SuccessfulCall(C)"]) for s in steps if s["server"] == "hotline")
            p(f"- hotline recorded these no-RTP calls too: {sig['files']} WAV files for {okh} successful calls "
              f"(durations {sig.get('dur_min', 0):.2f}–{sig.get('dur_max', 0):.2f} s, median "
              f"{sig.get('dur_median', 0):.2f} s, {sig['bytes'] / 1e6:.0f} MB of silence padding); "
              f"database: {sdb.get('cdrs', '?') if sdb else '?'} CDRs, "
              f"{sdb.get('recordings', '?') if sdb else '?'} recording rows. Part of hotline's CPU per call "
              "is this recorder (open a file, write the padded silence, index it, write the CDR) — Kamailio does none of it.")
        p("")

    # ---------------- media
    msteps = [json.loads(l) for l in (work / "media-steps.jsonl").read_text().splitlines()] \
        if (work / "media-steps.jsonl").exists() else []
    if msteps:
        p(f"### Media: concurrent calls with RTP both ways, {meta['steady_s']} s steady state")
        p("")
        p("SIPp UAC streams a 440 Hz PCMU tone (50 packets/s per call) to the relay; the SIPp UAS "
          "(the agents) echoes every packet back (`-rtp_echo`); the relay forwards both directions, so the "
          "expected relay throughput is 100 packets/s per call in and 100 out. Window: after every call is up "
          "(ramp), before any hangs up. pps = packets the relay sent per second (hotline: "
          "`hotline_rtp_packets_sent_total`; rtpengine: `relayedpackets` of NG `statistics`). "
          "Drops: relay's own counters (dropped + send errors) and the kernel's receive-buffer drops "
          "on the relay's sockets / on SIPp's echo socket during the window.")
        p("")
        p("| relay | calls | SIPp OK/failed | INVITEs that reached the SIP core | INVITE→200 mean / max of 1 s means | up at window start (SIPp / hotline) | pps relayed | of expected | relay CPU % core | µs CPU/packet | RSS MB (before → window → after) | drops: relay / kernel relay sockets / kernel echo socket | SIPp UAC % | SIPp UAS (echo) % | load1 |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        per_pkt = {}
        for s in msteps:
            a, b = load(s["w0"]), load(s["w1"])
            pre, post = load(s["pre"]), load(s["post"])
            name, n = s["relay"], s["calls"]
            if not a or not b or name not in a["cpu"] or name not in b["cpu"]:
                p(f"| {name} | {n} | – | relay not running | | | | | | | | |")
                continue
            dt = b["t"] - a["t"]
            cpu = (b["cpu"][name] - a["cpu"][name]) / CLK_TCK
            if name == "hotline":
                key = "hotline_rtp_packets_sent_total"
                pk = (b["metrics"] or {}).get(key, 0) - (a["metrics"] or {}).get(key, 0)
                rdrop = sum((b["metrics"] or {}).get(k, 0) - (a["metrics"] or {}).get(k, 0)
                            for k in ("hotline_rtp_packets_dropped_total", "hotline_rtp_send_errors_total"))
                up = f"{s.get('sipp_up', '?')} / {int((a['metrics'] or {}).get('hotline_media_calls', 0))}"
            else:
                pk = b.get("ng", {}).get("relayedpackets", 0) - a.get("ng", {}).get("relayedpackets", 0)
                rdrop = b.get("ng", {}).get("relayedpacketerrors", 0) - a.get("ng", {}).get("relayedpacketerrors", 0)
                up = s.get("sipp_up", "?")
            pps = pk / dt
            us = cpu / pk * 1e6 if pk else float("nan")
            per_pkt.setdefault(n, {})[name] = us
            kd = b["drops"].get("relay", 0) - a["drops"].get("relay", 0)
            ed = b["drops"].get("echo", 0) - a["drops"].get("echo", 0)
            uac = (b["cpu"].get("uac", 0) - a["cpu"].get("uac", 0)) / CLK_TCK / dt
            echo = "uas" if name == "hotline" else "uas2"
            uas = (b["cpu"].get(echo, 0) - a["cpu"].get(echo, 0)) / CLK_TCK / dt
            rss = lambda x: f"{x['rss'].get(name, 0) / 1024:.0f}" if x and name in x.get("rss", {}) else "?"
            st = last_stats(s["stat"])
            rt = setup_times(s["stat"])
            inv = "–"
            if name == "hotline" and pre and post and pre.get("metrics") and post.get("metrics"):
                k = 'hotline_sip_messages_received_total{kind="request",method="INVITE"}'
                inv = f"{post['metrics'].get(k, 0) - pre['metrics'].get(k, 0):.0f}"
                q = "hotline_sip_udp_dropped_total"
                sd = post["drops"].get("sip", 0) - pre["drops"].get("sip", 0) if "sip" in pre["drops"] else "?"
                inv += f" (lost: socket {sd}, core queue {post['metrics'].get(q, 0) - pre['metrics'].get(q, 0):.0f})"
            p(f"| {name} | {n} | {st['SuccessfulCall(C)']}/{st['FailedCall(C)']} | {inv} | {rt} | {up} | {pps:,.0f} | {pps / (100 * n):.0%} | {cpu / dt:.0%} | {us:.2f} | "
              f"{rss(pre)} → {rss(b)} → {rss(post)} | {rdrop:.0f} / {kd} / {ed} | {uac:.0%} | {uas:.0%} | {b['load'][0]} |")
        p("")
        for n, d in sorted(per_pkt.items()):
            if "hotline" in d and "rtpengine" in d:
                p(f"- {n} calls: CPU per relayed packet hotline/rtpengine = **{d['hotline'] / d['rtpengine']:.1f}×** "
                  f"({d['hotline']:.2f} against {d['rtpengine']:.2f} µs; hotline also decodes both legs and writes a "
                  "stereo WAV per call, rtpengine only forwards)")
        p("")
        if msteps:
            p("Per-call accounting over whole calls (hotline: each call's `media closed` report; rtpengine: "
              "NG `query` of each call before `delete`) and, for hotline, the recordings the step wrote. "
              "\"Lost on the echo path\" = packets the relay sent to SIPp's echo minus those that came back: "
              "lost in the load generator (SIPp UAS's socket buffer), not in the relay.")
            p("")
            p("| relay | calls | SIPp OK/failed | from UAC → to UAS | from UAS echo → to UAC | lost on the echo path | relay dropped / send errors / recorder frames dropped | WAV files | WAV s min/median/max (hold) | WAVs starting > 1 s late (audio lost, s) | after the start: WAVs with a silent 100 ms block (blocks caller/agent) | CDRs / index rows added (their dropped_frames) |")
            p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in msteps:
            st = last_stats(s["stat"])
            sipp = f"{st['SuccessfulCall(C)']}/{st['FailedCall(C)']}"
            if s["relay"] == "hotline":
                ms, rec, d0, d1 = load(s["mediastats"]), load(s["rec"]), load(s["db0"]), load(s["db1"])
                if not ms or not rec:
                    continue
                dcdr = (d1 or {}).get("cdrs", 0) - (d0 or {}).get("cdrs", 0)
                drec = (d1 or {}).get("recordings", 0) - (d0 or {}).get("recordings", 0)
                echo_loss = ms["agent_out"] - ms["agent_in"]
                p(f"| hotline | {s['calls']} | {sipp} | "
                  f"{ms['caller_in']:,} → {ms['agent_out']:,} | {ms['agent_in']:,} → {ms['caller_out']:,} | "
                  f"{echo_loss:,} ({echo_loss / max(ms['agent_out'], 1):.2%}) | "
                  f"{ms['dropped']} / {ms['send_errors']} / {ms['recorder_dropped_frames']} | {rec['files']} | "
                  f"{rec.get('dur_min', 0):.1f} / {rec.get('dur_median', 0):.1f} / {rec.get('dur_max', 0):.1f} "
                  f"({s['hold_ms'] / 1000:.0f}) | {rec['late_start']} ({rec['late_start_s']:,.0f}) | "
                  f"{rec['files_with_holes']} ({rec['holes_caller']}/{rec['holes_agent']}) | "
                  f"{dcdr} / {drec} ({(d1 or {}).get('dropped_frames', 0) - (d0 or {}).get('dropped_frames', 0)}) |")
            else:
                ng = load(s["ngtotals"])
                if not ng:
                    continue
                echo_loss = ng["a"] - ng["b"]
                p(f"| rtpengine | {s['calls']} | {sipp} | {ng['a']:,} → (not counted) | {ng['b']:,} → (not counted) | "
                  f"≈ {echo_loss:,} ({echo_loss / max(ng['a'], 1):.2%}) | – | – | – | – | – | – |")
        p("")
    health = load(work / "health.json")
    if health:
        p(f"- hotline process after the run: {health}")
    text = "\n".join(out) + "\n"
    (work / "results.md").write_text(text)
    print(text)


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    {"probe": probe, "recordings": recordings, "mediastats": mediastats, "db": db,
     "report": report}[cmd](argv)


if __name__ == "__main__":
    main()
