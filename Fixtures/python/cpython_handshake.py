"""One end of multiprocessing.connection's authkey handshake, for PythonHandshakeTests.

    python3 cpython_handshake.py client PORT KEYFILE [modern|legacy]
    python3 cpython_handshake.py server KEYFILE [modern|legacy]

The key is read from KEYFILE (never the command line). Framing is CPython's own: a
multiprocessing.connection.Connection over the socket (send_bytes / recv_bytes: a 4-byte
big-endian length, then the bytes). The client answers the listener's challenge, then
challenges it (as multiprocessing.connection.Client does); the server the other way round
(as Listener.accept does). The server prints "port N" first.

modern: Python 3.12's protocol (HMAC-SHA256, "{sha256}" prefix). On a python3 >= 3.12 the
script calls CPython's own deliver_challenge / answer_challenge; on an older one it runs its
own copy of 3.12's. legacy: Python 3.11's protocol (HMAC-MD5 over a 20-byte challenge, no
prefix): CPython's own functions on a python3 < 3.12, else the script's copy of 3.11's.

Prints "implementation cpython|script", then "handshake ok" or "AuthenticationError ...".
"""
import hmac
import os
import socket
import sys
from multiprocessing import AuthenticationError
from multiprocessing import connection as mpc

CHALLENGE, WELCOME, FAILURE = b"#CHALLENGE#", b"#WELCOME#", b"#FAILURE#"
MODERN_CPYTHON = sys.version_info >= (3, 12)


def modern_deliver(conn, key):
    """Python 3.12's deliver_challenge with its default digest, sha256."""
    message = b"{sha256}" + os.urandom(40)
    conn.send_bytes(CHALLENGE + message)
    response = conn.recv_bytes(256)
    expected = b"{sha256}" + hmac.new(key, message, "sha256").digest()
    if not hmac.compare_digest(response, expected):
        conn.send_bytes(FAILURE)
        raise AuthenticationError("digest received was wrong")
    conn.send_bytes(WELCOME)


def modern_answer(conn, key):
    """Python 3.12's answer_challenge for a "{sha256}" challenge."""
    message = conn.recv_bytes(256)
    if not message.startswith(CHALLENGE):
        raise AuthenticationError(f"Protocol error, expected challenge: {message=}")
    message = message[len(CHALLENGE):]
    if not message.startswith(b"{sha256}"):
        raise AuthenticationError(f"unsupported message length, missing digest prefix, or unsupported digest: {message=}")
    conn.send_bytes(b"{sha256}" + hmac.new(key, message, "sha256").digest())
    if conn.recv_bytes(256) != WELCOME:
        raise AuthenticationError("digest sent was rejected")


def legacy_deliver(conn, key):
    """Python 3.11's deliver_challenge: HMAC-MD5 over 20 random bytes."""
    message = os.urandom(20)
    conn.send_bytes(CHALLENGE + message)
    digest = hmac.new(key, message, "md5").digest()
    response = conn.recv_bytes(256)
    if response == digest:
        conn.send_bytes(WELCOME)
    else:
        conn.send_bytes(FAILURE)
        raise AuthenticationError("digest received was wrong")


def legacy_answer(conn, key):
    """Python 3.11's answer_challenge: the raw HMAC-MD5 of the challenge."""
    message = conn.recv_bytes(256)
    assert message[:len(CHALLENGE)] == CHALLENGE, f"message = {message!r}"
    message = message[len(CHALLENGE):]
    conn.send_bytes(hmac.new(key, message, "md5").digest())
    if conn.recv_bytes(256) != WELCOME:
        raise AuthenticationError("digest sent was rejected")


def functions(protocol):
    """(deliver, answer, implementation) for the protocol on this python3."""
    own = (protocol == "modern") == MODERN_CPYTHON
    if own:
        return mpc.deliver_challenge, mpc.answer_challenge, "cpython"
    if protocol == "modern":
        return modern_deliver, modern_answer, "script"
    return legacy_deliver, legacy_answer, "script"


def main():
    role = sys.argv[1]
    if role == "client":
        port, keyfile = int(sys.argv[2]), sys.argv[3]
        protocol = sys.argv[4] if len(sys.argv) > 4 else "modern"
    else:
        keyfile = sys.argv[2]
        protocol = sys.argv[3] if len(sys.argv) > 3 else "modern"
    with open(keyfile, "rb") as f:
        key = f.read()
    deliver, answer, implementation = functions(protocol)
    print(f"implementation {implementation} python {sys.version_info[0]}.{sys.version_info[1]}", flush=True)
    if role == "client":
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    else:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(60)
        print(f"port {server.getsockname()[1]}", flush=True)
        sock, _ = server.accept()
        server.close()
    sock.settimeout(None)  # a blocking descriptor, as Connection's os.read/os.write expect
    conn = mpc.Connection(sock.detach())
    try:
        if role == "client":
            answer(conn, key)
            deliver(conn, key)
        else:
            deliver(conn, key)
            answer(conn, key)
        print("handshake ok", flush=True)
    except (AuthenticationError, AssertionError, EOFError, OSError) as e:
        print(f"AuthenticationError {type(e).__name__}: {e}", flush=True)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
