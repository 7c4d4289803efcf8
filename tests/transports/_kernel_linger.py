"""The kernel's side of the SO_LINGER 0 interop test: a socket closed with
SO_LINGER {on, 0 s}, so close() sends RST instead of FIN (Deno cannot set it).

Same protocol as _kernel_peer.ts: argv `listen HOST PORT` or `connect HOST PORT`,
JSON lines out, commands in: `read N`, `write N`, `linger0`, `close`.
"""
import json
import socket
import struct
import sys


def out(**kw):
    print(json.dumps(kw), flush=True)


def pattern(start, n):
    return bytes(((i * 131 + (i >> 11)) & 255) for i in range(start, start + n))


mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "listen":
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, port))
    lsock.listen(1)
    out(ev="listening")
    conn, _ = lsock.accept()
    lsock.close()
else:
    conn = socket.create_connection((host, port), timeout=20)
    conn.settimeout(None)
out(ev="connected", local="%s:%d" % conn.getsockname(), remote="%s:%d" % conn.getpeername())

got = 0
sent = 0
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    cmd = parts[0]
    try:
        if cmd == "read":
            want = int(parts[1])
            eof = False
            while got < want:
                b = conn.recv(min(65536, want - got))
                if not b:
                    eof = True
                    break
                got += len(b)
            out(ev="read", bytes=got, eof=eof)
        elif cmd == "write":
            n = int(parts[1])
            conn.sendall(pattern(sent, n))
            sent += n
            out(ev="wrote", bytes=sent)
        elif cmd == "linger0":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            out(ev="linger0")
        elif cmd == "close":
            conn.close()
            out(ev="closed")
        else:
            out(ev="error", op=cmd, error="UnknownCommand")
    except OSError as e:
        out(ev="error", op=cmd, error=type(e).__name__, message=str(e))
