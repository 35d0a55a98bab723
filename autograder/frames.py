"""One message on a socket between the learner's kernel and the checker: its length, a JSON header, raw buffers.

Like wire.py (which says what a header may hold), this runs on both sides: its source is sent into the learner's
kernel with the agent (agent.py), so it needs nothing but the standard library. `receive` bounds what it reads
before it parses: a whole message by a deadline, at most MAX_BYTES, at most MAX_NODES values.
"""
import json
import struct
import time

try:
    from .wire import MAX_BYTES, MAX_NODES, WireError
except ImportError:         # inside the learner's kernel, wire.py's names are this module's globals
    pass


def pack(header, buffers):
    """One message: lengths, the JSON header, the buffers."""
    head = json.dumps(header, separators=(",", ":")).encode()
    parts = [b"", struct.pack("<II", len(head), len(buffers)), head]
    for b in buffers:
        parts += [struct.pack("<Q", len(b)), b]
    size = sum(map(len, parts))
    if size > MAX_BYTES:
        raise WireError(f"a message of {size >> 20} MiB is too large to send (limit {MAX_BYTES >> 20} MiB)")
    parts[0] = struct.pack("<Q", size)
    return b"".join(parts)   # one copy of the buffers: they are large (arrays)


def _read_exact(sock, n, deadline=None):
    chunks, got = [], 0
    while got < n:
        if deadline is not None:   # the whole message by then: a byte now and then does not extend it
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the message did not arrive in time")
            sock.settimeout(left)
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive(sock, deadline=None):
    """(header, buffers) of the next message on `sock`, whole by `deadline` (time.monotonic()) if one is given;
    WireError for anything malformed or too large."""
    (size,) = struct.unpack("<Q", _read_exact(sock, 8, deadline))
    if size > MAX_BYTES:
        raise WireError(f"a message of {size >> 20} MiB is larger than the limit ({MAX_BYTES >> 20} MiB)")
    data = _read_exact(sock, size, deadline)
    try:
        head_len, count = struct.unpack_from("<II", data, 0)
        pos = 8
        head = data[pos:pos + head_len]
        # counted before parsing: `[],[],...` takes 25 times its size once parsed (decode counts nodes too late)
        if head.count(b",") + head.count(b"[") + head.count(b"{") > MAX_NODES:
            raise WireError(f"a message of more than {MAX_NODES:,} values")
        header = json.loads(head)
        pos += head_len
        view = memoryview(data)
        buffers = []
        for _ in range(count):
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            if pos + n > len(data):
                raise WireError("a buffer runs past the end of its message")
            buffers.append(view[pos:pos + n])   # not copied: decode copies an array's data once, into the array
            pos += n
    except (struct.error, ValueError, RecursionError) as err:
        raise WireError(f"a malformed message ({type(err).__name__})") from None
    if type(header) is not dict:
        raise WireError("a message that is not an object")
    return header, buffers
