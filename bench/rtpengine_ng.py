#!/usr/bin/env python3
"""A tiny rtpengine NG-protocol client (bencode over UDP) for
bench/sipp-call-load.sh.

  rtpengine_ng.py NG_ADDR ping
  rtpengine_ng.py NG_ADDR setup N A_ADDR B_ADDR CSV
      N calls: `offer` with A's SDP (the SIPp UAC's media address), `answer`
      with B's SDP (the SIPp UAS's echo address). Writes CSV, a SIPp injection
      file (SEQUENTIAL, one line per call: the rtpengine port facing A), so the
      UAS can put that port in its SDP answer and the UAC's RTP goes through
      rtpengine; call ids go to CSV.ids.
  rtpengine_ng.py NG_ADDR totals CSV
      Sums the RTP packets rtpengine received (`query`) from side a (the
      UAC) and side b (the UAS's echo) over the calls of CSV.ids; prints JSON.
  rtpengine_ng.py NG_ADDR delete CSV
      Deletes those calls; prints JSON totals as `totals` does.
"""
import json
import socket
import sys


def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(v) for v in x) + b"e"
    if isinstance(x, dict):
        return b"d" + b"".join(benc(k) + benc(x[k]) for k in sorted(x)) + b"e"
    raise TypeError(type(x))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        i += 1
        out = []
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode()] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


class Ng:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.addr = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self.seq = 0

    def __call__(self, command, **args):
        args["command"] = command
        self.seq += 1
        cookie = b"%d_%d" % (self.seq, id(self))
        data = cookie + b" " + benc(args)
        for _ in range(5):
            self.sock.sendto(data, self.addr)
            try:
                while True:
                    reply, _ = self.sock.recvfrom(65536)
                    ck, _, body = reply.partition(b" ")
                    if ck == cookie:
                        r, _ = bdec(body)
                        if r.get("result") not in (b"ok", b"pong"):
                            raise RuntimeError(f"{command}: {r}")
                        return r
            except socket.timeout:
                continue
        raise RuntimeError(f"{command}: no answer from rtpengine at {self.addr}")


def sdp(addr, sess):
    ip, port = addr.rsplit(":", 1)
    return (f"v=0\r\no=- {sess} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


def port_of(sdp_bytes):
    for line in sdp_bytes.decode().splitlines():
        if line.startswith("m=audio "):
            return int(line.split()[1])
    raise RuntimeError("no m=audio in rtpengine's SDP")


def ids(csv):
    return open(csv + ".ids").read().split()


def counters(r):
    """RTP packets rtpengine received on each side of one call (a stream's
    `stats` count what arrived on its local port): {"a": .., "b": ..}, plus
    the bytes of both."""
    out = {"a": 0, "b": 0, "bytes": 0}
    for name, tag in r.get("tags", {}).items():
        for m in tag.get("medias", []):
            for s in m.get("streams", []):
                st = s.get("stats", {})
                out[name] = out.get(name, 0) + st.get("packets", 0)
                out["bytes"] += st.get("bytes", 0)
    return out


def main():
    ng = Ng(sys.argv[1])
    cmd = sys.argv[2]
    if cmd == "ping":
        print(ng("ping").get("result", b"").decode())
    elif cmd == "setup":
        n, a, b, csv = int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
        call_ids, ports = [], []
        for i in range(n):
            cid = f"bench-{i}-{id(ng)}"
            ng("offer", **{"call-id": cid, "from-tag": "a", "sdp": sdp(a, i), "ICE": "remove"})
            r = ng("answer", **{"call-id": cid, "from-tag": "a", "to-tag": "b", "sdp": sdp(b, i), "ICE": "remove"})
            call_ids.append(cid)
            ports.append(port_of(r["sdp"]))
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(f"{p};\n" for p in ports))
        with open(csv + ".ids", "w") as f:
            f.write("\n".join(call_ids) + "\n")
    elif cmd in ("totals", "delete"):
        tot = {"calls": 0, "a": 0, "b": 0, "bytes": 0}
        for cid in ids(sys.argv[3]):
            c = counters(ng("query", **{"call-id": cid}))
            tot["calls"] += 1
            for k in ("a", "b", "bytes"):
                tot[k] += c.get(k, 0)
            if cmd == "delete":
                ng("delete", **{"call-id": cid})
        # a: from the UAC (relayed to the UAS), b: the UAS's echo (relayed back)
        print(json.dumps(tot))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
