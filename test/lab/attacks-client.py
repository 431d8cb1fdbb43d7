"""Red-team client for the attack lab tests, run inside the agent namespace (ip netns exec).

One JSON argument describes one connection; one JSON line comes back, so the TypeScript side can
assert on exactly what the proxy did (bytes, reset, timeout) without a client library smoothing it
over:

  {"host": "10.201.0.10", "port": 443,
   "tls": true, "sni": "api.allowed.test", "ca": "/path/ca.pem", "alpn": ["http/1.1"],
   "verify": true,                      # false: accept any certificate (the agent's own TLS)
   "delay": 0,                          # seconds of silence after connect, before anything is sent
   "send": ["latin1 text", {"hex": "16030100"}, {"hello": {"truncate": 60}}, {"pause": 0.5}],
   "read_timeout": 3, "read_until_close": true}

  → {"connected": true, "tls": "TLSv1.3", "data": "latin1 text", "error": null | "ConnectionResetError" | …,
     "elapsed": 1.23}

Mode "many" ({"many": N, "host", "port", "send": [...], "hold": seconds}) opens N connections,
sends the payload on each, holds them, and reports how many the proxy had closed by the end.
Mode "flood" ({"flood": true, "host", "names": ["x{i}.example"], "count": N}) sends N DNS queries
as fast as it can (at most "window" unanswered at a time) and counts the answers by rcode.
Mode "udp" ({"udp": true, "host", "port", "hex"}) sends one datagram and reports the answer or
the ICMP refusal.
"""
import base64
import json
import resource
import socket
import ssl
import struct
import sys
import time


def client_hello(sni, alpn):
    """Real ClientHello bytes from Python's own TLS stack (never completed)."""
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = ssl.create_default_context()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    obj = ctx.wrap_bio(inb, outb, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outb.read()


def payload(item, spec):
    if isinstance(item, str):
        return item.encode("latin1")
    if "hex" in item:
        return bytes.fromhex(item["hex"])
    if "b64" in item:
        return base64.b64decode(item["b64"])
    if "repeat" in item:
        return item["repeat"].encode("latin1") * int(item["times"])
    if "hello" in item:
        h = item["hello"]
        data = client_hello(h.get("sni", spec.get("sni")), h.get("alpn"))
        if "truncate" in h:
            data = data[: h["truncate"]]
        return data + bytes.fromhex(h.get("append_hex", ""))
    raise ValueError(f"unknown payload item {item!r}")


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def one(spec):
    started = time.time()
    out = {"connected": False, "tls": None, "data": "", "error": None}
    sock = None
    try:
        sock = socket.create_connection((spec["host"], spec["port"]), timeout=spec.get("connect_timeout", 5))
        out["connected"] = True
        if spec.get("delay"):
            time.sleep(spec["delay"])
        if spec.get("tls"):
            if spec.get("verify", True):
                ctx = ssl.create_default_context(cafile=spec.get("ca"))
                ctx.check_hostname = False  # the proxy mints for the SNI; names are the test's subject
            else:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if spec.get("alpn"):
                ctx.set_alpn_protocols(spec["alpn"])
            sock = ctx.wrap_socket(sock, server_hostname=spec.get("sni"))
            out["tls"] = sock.version()
            out["peer_issuer"] = dict(x[0] for x in sock.getpeercert().get("issuer", ())) if spec.get("verify", True) else None
        try:
            for item in spec.get("send", []):
                if isinstance(item, dict) and "pause" in item:
                    time.sleep(item["pause"])
                    continue
                sock.sendall(payload(item, spec))
        except OSError as e:
            # The peer gave up on us mid-request (a timeout answer, a reset): what did it say first?
            out["send_error"] = type(e).__name__
        sock.settimeout(spec.get("read_timeout", 3))
        chunks = []
        while True:
            d = sock.recv(65536)
            if not d:
                break
            chunks.append(d)
            if not spec.get("read_until_close", True):
                break
        out["data"] = b"".join(chunks).decode("latin1")
    except Exception as e:  # the kind of failure is the result
        out["error"] = type(e).__name__
        if isinstance(e, ssl.SSLError):
            out["error_detail"] = e.reason
    finally:
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass
    out["elapsed"] = round(time.time() - started, 3)
    return out


def many(spec):
    resource.setrlimit(resource.RLIMIT_NOFILE, (spec["many"] + 1024, spec["many"] + 1024))
    socks, failed = [], 0
    data = b"".join(payload(i, spec) for i in spec.get("send", []))
    for _ in range(spec["many"]):
        try:
            s = socket.create_connection((spec["host"], spec["port"]), timeout=5)
            if data:
                s.sendall(data)
            socks.append(s)
        except Exception:
            failed += 1
    opened = len(socks)
    time.sleep(spec.get("hold", 3))
    still_open = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                still_open += 1
        except BlockingIOError:
            still_open += 1
        except Exception:
            pass
        s.close()
    return {"opened": opened, "failed": failed, "still_open": still_open}


def dns_flood(spec):
    """Send `count` queries (one per name, rotating) as fast as possible; count answers by rcode."""
    s = socket.socket(family(spec["host"]), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((spec["host"], spec.get("port", 53)))
    names, count = spec["names"], spec["count"]
    rcodes, sent = {}, 0
    started = time.time()
    window = spec.get("window", count)
    got = 0
    s.settimeout(spec.get("read_timeout", 3))

    lost = 0

    def drain(until):
        nonlocal got, lost
        try:
            while got + lost < until:
                r = s.recv(65535)
                got += 1
                rc = str(r[3] & 15)
                rcodes[rc] = rcodes.get(rc, 0) + 1
        except Exception:
            lost = until - got  # timed out: count the rest as unanswered and move on

    for i in range(count):
        if sent - got - lost >= window:
            drain(sent - window + 1)
        name = names[i % len(names)].replace("{i}", str(i))
        q = struct.pack(">HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0)
        for label in name.split("."):
            q += bytes([len(label)]) + label.encode()
        q += b"\0" + struct.pack(">HH", spec.get("qtype", 1), 1)
        try:
            s.send(q)
            sent += 1
        except OSError:
            pass
    drain(sent)
    return {"sent": sent, "answered": got, "rcodes": rcodes, "elapsed": round(time.time() - started, 3)}


def udp(spec):
    s = socket.socket(family(spec["host"]), socket.SOCK_DGRAM)
    s.settimeout(spec.get("read_timeout", 2))
    s.connect((spec["host"], spec["port"]))
    try:
        s.send(bytes.fromhex(spec.get("hex", "00")))
        return {"answer": s.recv(65535).hex(), "error": None}
    except Exception as e:
        return {"answer": None, "error": type(e).__name__}
    finally:
        s.close()


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    if isinstance(spec, list):
        result = [one(s) for s in spec]
    elif "many" in spec:
        result = many(spec)
    elif "flood" in spec:
        result = dns_flood(spec)
    elif spec.get("udp"):
        result = udp(spec)
    else:
        result = one(spec)
    print(json.dumps(result))
