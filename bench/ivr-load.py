#!/usr/bin/env python3
"""Helpers of bench/sipp-ivr-load.sh (standard library only).

  ivr-load.py config ROOT WORK AGENTS DOMAIN SIP HTTP RTP
      Writes WORK/hotline-ivr.toml and WORK/hotline-direct.toml from the
      built-in default (config/hotline.example.toml) with the bench's ports,
      AGENTS agents (+ supervisor "bench-sup") instead of the demo seats, MD5
      first, wrap-up 0 and no shifts; and WORK/agents.csv for SIPp.
  ivr-load.py ready URL AGENTS_CSV
      Logs every agent in (POST /api/login) and sets it ready
      (POST /api/agents/{id}/state); fails unless each one is available.
  ivr-load.py step WORK MODE RATE CALLS T0_MS T1_MS HOTLINE_TICKS UAS_TICKS UAC_TICKS CLK_TCK RC URL
      One JSON line: SIPp's counts, the CDRs of the step, CPU per call.
  ivr-load.py report WORK TREE AGENTS STEP_S MENU_MS HOLD_MS
      results.md from WORK/steps.jsonl.
"""
import csv
import json
import os
import pathlib
import re
import secrets
import sqlite3
import sys
import urllib.request

SUPERVISOR = ("bench-sup", "bench-sup-" + "x" * 8)


def config(root, work, n, domain, sip, http, rtp):
    root, work, n = pathlib.Path(root), pathlib.Path(work), int(n)
    text = (root / "config/hotline.example.toml").read_text()
    # Split into chunks, each starting at a table header line.
    chunks, cur = [], []
    for line in text.splitlines(keepends=True):
        if re.match(r"^\[", line) and cur:
            chunks.append(cur)
            cur = []
        cur.append(line)
    chunks.append(cur)

    def header(c):
        return c[0].strip() if c and c[0].startswith("[") else ""

    def set_keys(c, values):
        # Drops single-line `key = ...` lines of these keys (and a multi-line
        # array value that follows one), then appends the new values.
        out, skip = [], False
        for line in c:
            if skip:
                if line.strip().startswith("]"):
                    skip = False
                continue
            m = re.match(r"^(\w+)\s*=\s*(.*)$", line)
            if m and m.group(1) in values:
                if m.group(2).strip() == "[":
                    skip = True
                continue
            out.append(line)
        while out and not out[-1].strip():
            out.pop()
        out += [f"{k} = {v}\n" for k, v in values.items()] + ["\n"]
        return out

    users = [(str(30000 + i), "bench-" + secrets.token_hex(8)) for i in range(n)]
    for mode in ("ivr", "direct"):
        out = []
        for c in chunks:
            h = header(c)
            if h == "[[agents]]":
                continue
            if h == "[sip]":
                c = set_keys(c, {"listen": f'"{sip}"', "domain": f'"{domain}"', "rtp_ports": f'"{rtp}"',
                                 "auth_max_failures": "1000000",
                                 "digest_algorithms": '["MD5", "SHA-256"]'})
            elif h == "[http]":
                c = set_keys(c, {"listen": f'"{http}"'})
            elif h == "[storage]":
                c = set_keys(c, {"data_dir": f'"{work / ("data-" + mode)}"'})
            elif h == "[hotline]":
                c = set_keys(c, {"routing": f'"{mode}"'})
            elif h == "[ivr]":
                c = set_keys(c, {"prompts_dir": f'"{root / "prompts"}"'})
            elif h == "[[queues]]":
                c = set_keys(c, {"wrap_up_s": "0", "shifts": "[]"})
            out += c
        for u, p in users:
            out.append(f'[[agents]]\nid = "{u}"\nname = "Bench {u}"\npassword = "{p}"\n'
                       f'skills = ["lang:cmn", "lang:yue"]\nrole = "agent"\n\n')
        out.append(f'[[agents]]\nid = "{SUPERVISOR[0]}"\nname = "Bench supervisor"\n'
                   f'password = "{SUPERVISOR[1]}"\nskills = []\nrole = "supervisor"\n\n')
        (work / f"hotline-{mode}.toml").write_text("".join(out))
    (work / "agents.csv").write_text("SEQUENTIAL\n" + "".join(f"{u};{p};{domain};\n" for u, p in users))


def call(url, method="GET", body=None, token=None):
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def login(url, user, password):
    return call(url + "/api/login", "POST", {"username": user, "password": password})["token"]


def ready(url, agents_csv):
    rows = [l.split(";") for l in pathlib.Path(agents_csv).read_text().splitlines()[1:] if l.strip()]
    bad = []
    for user, password, *_ in rows:
        token = login(url, user, password)
        st = call(f"{url}/api/agents/{user}/state", "POST", {"state": "ready"}, token)
        if not st.get("available"):
            bad.append((user, st))
    if bad:
        sys.exit(f"{len(bad)} agents not available after login + ready, e.g. {bad[0]}")
    print(f"{len(rows)} agents ready", file=sys.stderr)


def step(work, mode, rate, calls, t0, t1, hticks, sticks, cticks, clk, rc, url):
    work = pathlib.Path(work)
    rows = list(csv.reader(open(work / f"{mode}-{rate}.stat.csv"), delimiter=";"))
    st = dict(zip(rows[0], rows[-1]))
    ok, failed = int(st["SuccessfulCall(C)"]), int(st["FailedCall(C)"])
    calls, rate, clk = int(calls), int(rate), int(clk)
    db = sqlite3.connect(f"file:{work / ('data-' + mode) / 'hotline.db'}?mode=ro", uri=True)
    # An agent's id is on the record as soon as the agent is rung: the call
    # counts only if it was answered too.
    cdrs, with_agent, wait_ms = db.execute(
        "SELECT count(*), sum(agent_id IS NOT NULL AND answered_at_ms IS NOT NULL), "
        "avg(answered_at_ms - arrived_at_ms) "
        "FROM cdrs WHERE arrived_at_ms >= ? AND arrived_at_ms <= ?", (int(t0), int(t1))).fetchone()
    with_agent = with_agent or 0
    queues = {}
    if mode == "ivr":
        token = login(url, *SUPERVISOR)
        queues = {q["name"]: q["today"]["answered"] for q in call(url + "/api/queues", token=token)}
    good = min(ok, with_agent)
    bad = calls - good
    # The time calls were being placed: from the first to the last INVITE.
    placing_s = (calls - 1) / rate if rate else 1
    offered_rate = ok / max(placing_s, 1e-3) if ok else 0.0
    wall_s = (int(t1) - int(t0)) / 1000
    print(json.dumps({
        "mode": mode, "rate": rate, "calls": calls, "sipp_ok": ok, "sipp_failed": failed, "sipp_rc": int(rc),
        "cdrs": cdrs, "cdrs_with_agent": with_agent, "good": good, "bad": bad,
        "answer_after_ms": round(wait_ms or 0), "queues_answered_today": queues,
        "wall_s": wall_s,
        "hotline_cpu_s": int(hticks) / clk, "uas_cpu_s": int(sticks) / clk, "uac_cpu_s": int(cticks) / clk,
        "hotline_ms_per_call": 1000 * int(hticks) / clk / max(good, 1),
        "clean": bad <= 0.001 * calls and ok + failed == calls and offered_rate >= 0.95 * rate,
    }))


def report(work, tree, agents, step_s, menu_ms, hold_ms):
    work = pathlib.Path(work)
    steps = [json.loads(l) for l in (work / "steps.jsonl").read_text().splitlines() if l.strip()]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"Tree {tree}; {os.cpu_count()} cores ({cpu}), load average at the end {load}; "
          f"{agents} SIPp agents; {step_s} s per step; "
          f"IVR caller stays {int(menu_ms) + int(hold_ms)} ms after the answer, direct caller {hold_ms} ms.\n")
    print("| mode | calls/s | calls | good (SIPp ok, CDR answered by an agent) | bad | answered after (ms, mean) "
          "| hotline CPU s | hotline CPU ms/call | SIPp UAC + UAS CPU s | clean |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in steps:
        print(f"| {s['mode']} | {s['rate']} | {s['calls']} | {s['good']} | {s['bad']} | {s['answer_after_ms']} "
              f"| {s['hotline_cpu_s']:.2f} | {s['hotline_ms_per_call']:.2f} "
              f"| {s['uac_cpu_s'] + s['uas_cpu_s']:.2f} | {'yes' if s['clean'] else 'NO'} |")
    for mode in ("ivr", "direct"):
        clean = [s for s in steps if s["mode"] == mode and s["clean"]]
        if clean:
            best = max(clean, key=lambda s: s["rate"])
            print(f"\n{mode}: highest clean rate {best['rate']} calls/s, hotline "
                  f"{best['hotline_ms_per_call']:.2f} ms CPU per call there; queues answered: "
                  f"{best['queues_answered_today'] or '-'}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"config": config, "ready": ready, "step": step, "report": report}[cmd](*args)
