"""What crosses between the learner's kernel and the trusted checker: values, never objects.

Both sides run this module: the grader imports it, and its source is sent into the learner's kernel as
part of the agent (agent.py), so it must need nothing but the standard library (NumPy and PyTorch are
used only when a value is one of theirs). A message is a JSON tree plus raw buffers:

- None, bool, int, float, str, bytes; list, tuple and dict of these (keys: str or int); a subclass of list or
  tuple arrives as a plain list or tuple of its items; a namedtuple arrives as an `Echo`, a tuple of its items
  that, sent back, arrives as its owner's namedtuple again (with the items sent), so that a learner's KV cache
  `KVCache(K, V)` that a check passes back can still be read as `cache.K`;
- NumPy arrays and scalars of a plain numeric or bool dtype; torch tensors (sent as their data, detached,
  on the CPU; a parameter arrives as a plain tensor), torch dtypes and devices, slices, Ellipsis. A check's
  floating-point tensor made to require grad (a leaf, `torch.randn(..., requires_grad=True)`) arrives in the
  learner's kernel requiring grad too, as activations do in training (`decode(..., grad=True)`): code that
  computes otherwise while gradients are recorded is checked as it trains. Nothing arrives in the checker
  requiring grad;
- anything else is a *reference*: a number that names an object kept by the side that owns it (a
  learner's module or function; a check's callback), and every use of it goes back to its owner;
- an exception travels as its type name, its message and the owner's own traceback lines.

`decode` checks what it reads (depth, counts, sizes, dtypes, shapes against buffer lengths), so a
message from a hostile kernel becomes a `WireError`, never an object of the sender's choosing.
"""
import sys as _sys

MAX_DEPTH = 40
MAX_NODES = 1_000_000
MAX_BYTES = 256 << 20       # buffers and JSON together, per message
MAX_TEXT = 4 << 20          # one string
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128")
TORCH_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16", "float32", "float64",
                "complex64", "complex128")


#: NumPy's extended precision (float128 on x86-64 Linux): sent as float64 and complex128, and made extended again
#: on arrival, so that a check sees the dtype the learner returned (np.longdouble has no fixed size to send)
WIDE = {"longdouble": "float64", "clongdouble": "complex128"}


def _wire_dtype(np, dtype):
    """The name a NumPy dtype crosses under, or None if it can't cross."""
    if dtype.name in DTYPES:
        return dtype.name
    for name in WIDE:
        if dtype == np.dtype(name):
            return name
    return None


class WireError(Exception):
    """A message that breaks the rules above."""


class Echo(tuple):
    """The other side's namedtuple here: a plain tuple of its items that remembers its `origin` (the owner's
    namedtuple, a reference), so that sending it back rebuilds the owner's type. Copies keep the origin."""
    origin = None

    def __copy__(self):
        return _echo(tuple(self), self.origin)

    def __deepcopy__(self, memo):
        import copy
        return _echo(copy.deepcopy(tuple(self), memo), self.origin)

    def __reduce__(self):
        return tuple, (tuple(self),)


def _echo(items, origin):
    echo = Echo(items)
    echo.origin = origin
    return echo


def _named(cls):
    """A namedtuple class (collections.namedtuple or typing.NamedTuple): it can be rebuilt from its items."""
    return cls is not tuple and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple) \
        and callable(getattr(cls, "_make", None))


def _np():
    import numpy
    return numpy


def _torch():
    return _sys.modules.get("torch")


def encode(obj, other):
    """(JSON tree, buffers) for `obj`; `other(obj, enc)` gives the node of what is not a value (a reference)."""
    buffers = []
    count = [0]

    def enc(x, depth):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise WireError("value nested too deeply or too large to send")
        t = type(x)
        if x is None or t is bool or t is str:
            if t is str and len(x) > MAX_TEXT:
                raise WireError(f"a string of {len(x)} characters is too long to send")
            return x
        if t is int:
            return {"t": "int", "v": str(x)} if abs(x) >= 1 << 53 else x
        if t is float:
            return {"t": "float", "v": repr(x)}
        if t in (bytes, bytearray):
            buffers.append(bytes(x))
            return {"t": "bytes", "b": len(buffers) - 1}
        if isinstance(x, (list, tuple)):   # a subclass (a namedtuple) too: its items, read past its own methods
            base = list if isinstance(x, list) else tuple
            node = {"t": base.__name__, "v": [enc(v, depth + 1) for v in base.__iter__(x)]}
            origin = x.origin if t is Echo else x if base is tuple and _named(t) else None
            if origin is not None:
                node["o"] = other(origin, lambda v: enc(v, depth + 1))
            return node
        if t in (set, frozenset) and all(type(v) in (str, int, bool, float) or v is None for v in x):
            return {"t": t.__name__, "v": [enc(v, depth + 1) for v in x]}
        if t is dict:
            keys = list(x)
            if not all(type(k) in (str, int) for k in keys):
                return other(x, lambda v: enc(v, depth + 1))
            return {"t": "dict", "k": keys, "v": [enc(x[k], depth + 1) for k in keys]}
        if t is slice:
            return {"t": "slice", "v": [enc(x.start, depth + 1), enc(x.stop, depth + 1), enc(x.step, depth + 1)]}
        if x is Ellipsis:
            return {"t": "ellipsis"}
        np = _sys.modules.get("numpy")   # no NumPy imported: no array to send
        if np is not None and isinstance(x, np.ndarray):   # a subclass (np.matrix) as a plain array of its data
            data = np.ndarray.view(x, np.ndarray)
            name = _wire_dtype(np, data.dtype)
            if name is not None:
                buffers.append(np.ascontiguousarray(data.astype(WIDE[name]) if name in WIDE else data).tobytes())
                return {"t": "nd", "d": name, "s": list(data.shape), "b": len(buffers) - 1}
        if np is not None and isinstance(x, np.generic):
            name = _wire_dtype(np, x.dtype)
            if name is not None:
                buffers.append((np.asarray(x).astype(WIDE[name]) if name in WIDE else x).tobytes())
                return {"t": "np", "d": name, "b": len(buffers) - 1}
        torch = _torch()
        if torch is not None:
            if isinstance(x, torch.Tensor) and type(x) in (torch.Tensor, torch.nn.Parameter) \
                    and str(x.dtype).split(".")[-1] in TORCH_DTYPES and x.layout == torch.strided:
                name = str(x.dtype).split(".")[-1]
                data = x.detach().to("cpu")
                if name == "bfloat16":
                    data = data.float()
                buffers.append(data.contiguous().numpy().tobytes())
                node = {"t": "tensor", "d": name, "s": list(x.shape), "b": len(buffers) - 1, "dev": str(x.device)}
                if type(x) is torch.Tensor and x.requires_grad and x.is_leaf:
                    node["g"] = True
                return node
            if t is torch.dtype:
                return {"t": "tdtype", "v": str(x).split(".")[-1]}
            if t is torch.device:
                return {"t": "device", "v": str(x)}
            if t is torch.Size:
                return {"t": "size", "v": [int(v) for v in x]}
        return other(x, lambda v: enc(v, depth + 1))

    tree = enc(obj, 0)
    return tree, buffers


def decode(tree, buffers, resolve, grad=False):
    """The value of `tree`; `resolve(node, dec)` turns a reference node into an object of the reader's. `grad`
    (the learner's side only): tensors sent requiring grad arrive requiring grad, not as leaves (activations)."""
    count, used = [0], set()

    def buf(node):
        i = node.get("b")
        if type(i) is not int or not 0 <= i < len(buffers):
            raise WireError("a value names a buffer that is not there")
        if i in used:   # encode never shares one: a value naming one buffer a thousand times would be that large
            raise WireError("a value names a buffer twice")
        used.add(i)
        return buffers[i]

    def shape(node):
        s = node.get("s")
        if type(s) is not list or len(s) > 32 or not all(type(v) is int and 0 <= v < 1 << 40 for v in s):
            raise WireError("a bad array shape")
        return tuple(s)

    def dec(x, depth):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise WireError("value nested too deeply")
        if x is None or type(x) in (bool, int, str):
            if type(x) is str and len(x) > MAX_TEXT:
                raise WireError("a string too long")
            return x
        if type(x) is float:
            return x
        if type(x) is not dict or type(x.get("t")) is not str:
            raise WireError("a node of an unknown form")
        t = x["t"]
        if t == "int":
            v = x.get("v")
            if type(v) is not str or len(v) > 5000:
                raise WireError("a bad integer")
            return int(v)
        if t == "float":
            return float(str(x.get("v")))
        if t == "bytes":
            return bytes(buf(x))
        if t in ("list", "tuple", "set", "frozenset"):
            items = x.get("v")
            if type(items) is not list:
                raise WireError("a bad sequence")
            items = [dec(v, depth + 1) for v in items]
            if t in ("set", "frozenset") and not all(v is None or type(v) in (str, int, bool, float) for v in items):
                raise WireError("a set of values that are not plain")
            if t == "tuple" and "o" in x:
                return _tuple_of(x["o"], items, depth)
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[t](items)
        if t == "dict":
            keys, values = x.get("k"), x.get("v")
            if type(keys) is not list or type(values) is not list or len(keys) != len(values) \
                    or not all(type(k) in (str, int) for k in keys):
                raise WireError("a bad dict")
            return {k: dec(v, depth + 1) for k, v in zip(keys, values)}
        if t == "slice":
            parts = x.get("v")
            if type(parts) is not list or len(parts) != 3:
                raise WireError("a bad slice")
            return slice(*(dec(v, depth + 1) for v in parts))
        if t == "ellipsis":
            return Ellipsis
        if t in ("nd", "np", "tensor"):
            np = _np()
            name = x.get("d")
            if name not in (TORCH_DTYPES if t == "tensor" else DTYPES + tuple(WIDE)):
                raise WireError(f"dtype {name!r} may not cross")
            dtype = np.dtype("float32" if name == "bfloat16" else WIDE.get(name, name))
            data = buf(x)
            if t == "np":
                if len(data) != dtype.itemsize:
                    raise WireError("a scalar of the wrong size")
                value = np.frombuffer(data, dtype=dtype)[0]
                return value.astype(name) if name in WIDE else value
            s = shape(x)
            size = 1
            for v in s:
                size *= v
            if size * dtype.itemsize != len(data):
                raise WireError("an array whose shape does not match its data")
            array = np.frombuffer(data, dtype=dtype).reshape(s)
            if t == "nd":
                return array.astype(name) if name in WIDE else array.copy()
            array = array.copy()
            torch = _torch()
            if torch is None:
                import torch
            out = torch.from_numpy(array)
            out = out.to(torch.bfloat16) if name == "bfloat16" else out
            return out.requires_grad_(True).clone() if grad and x.get("g") is True and out.is_floating_point() else out
        if t in ("tdtype", "device"):
            torch = _torch()
            if torch is None:
                import torch
            v = str(x.get("v"))
            if t == "tdtype":
                if v not in TORCH_DTYPES:
                    raise WireError("a bad torch dtype")
                return getattr(torch, v)
            return torch.device(v)
        if t == "size":
            torch = _torch()
            return torch.Size([int(v) for v in x.get("v", [])]) if torch else tuple(x.get("v", []))
        if t in ("mine", "yours", "module"):
            if type(x.get("id")) is not int:
                raise WireError("a bad reference")
            return resolve(x, lambda v: dec(v, depth + 1))
        raise WireError(f"a node of unknown type {t!r}")

    def _tuple_of(ref, items, depth):
        """A namedtuple's items and its origin: ours (sent back to us) -> our namedtuple's type again, with these
        items; the sender's -> an Echo; anything else -> a plain tuple."""
        if type(ref) is not dict or ref.get("t") not in ("mine", "yours"):
            raise WireError("a bad origin of a tuple")
        origin = dec(ref, depth + 1)
        if ref["t"] == "yours" and _named(type(origin)):
            try:
                return type(origin)._make(items)
            except Exception:  # noqa: BLE001 - a namedtuple whose _make refuses these items: its items
                return tuple(items)
        return _echo(items, origin) if ref["t"] == "mine" else tuple(items)

    return dec(tree, 0)
