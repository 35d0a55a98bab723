"""Pretend CUDA: run the GPU branches of the notebooks and of the benchmark on a CPU (tests only).

`pretend_gpu(name)` is a context manager under which PyTorch believes it has one CUDA GPU called `name`:

- `torch.cuda.is_available()` (and `torch.accelerator`) say yes; the device name, compute capability and
  properties are those of the GPU (`GPUS`);
- a tensor made with `device="cuda"`, `.to("cuda")`, `.cuda()` or `Module.to("cuda")` lives on the CPU but is
  labelled as on the GPU: its `.device` is `cuda:0`, the results of operations on it are labelled too, and
  what a real GPU refuses raises the same error: an operation that mixes GPU and CPU tensors (0-dim CPU
  tensors excepted, as in PyTorch), and `.numpy()` or `np.asarray()` of a GPU tensor;
- memory statistics (`memory_allocated`, `max_memory_allocated`, `reset_peak_memory_stats`) count the bytes
  of the storages of the live GPU-labelled tensors;
- every operation on GPU tensors counts as queued work until something waits for it (`synchronize`,
  `.item()`, `.tolist()`, `.cpu()`, printing). Every clock read (`time.perf_counter`, `timeit.default_timer`)
  with queued work is recorded in `gpu.early_reads`: that is a timing that misses work or includes work
  queued before it started;
- `F.scaled_dot_product_attention` on GPU tensors picks its backend by PyTorch's rules for the GPU's compute
  capability, dtype and head size (flash and cuDNN: sm80+ and float16/bfloat16; memory-efficient: sm50+,
  bfloat16 only from sm80; cuDNN first on sm90/sm100), honours `sdpa_kernel`, and when no allowed backend
  fits it warns and raises as PyTorch does ("... kernel not used because:", one warning per reason, each
  ending "(Triggered internally at .../sdp_utils.cpp:N.)", then "No available kernel. Aborting execution.").
  `torch._fused_sdp_choice` returns the same choice. The numbers are computed by the CPU.

What it cannot show: speed, real memory use inside fused kernels, numerical differences of GPU kernels
(TF32, float16 accumulation), driver or out-of-memory errors. Those need a real GPU.
"""
from __future__ import annotations

import contextlib
import sys
import time
import timeit
import warnings
import weakref
from types import SimpleNamespace
from unittest import mock

import torch
from torch.nn.attention import SDPBackend
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

# name as torch.cuda.get_device_name() reports it: (compute capability, memory in GiB)
GPUS = {
    "Tesla T4": ((7, 5), 15), "NVIDIA L4": ((8, 9), 22), "NVIDIA L40": ((8, 9), 44),
    "NVIDIA A100-SXM4-40GB": ((8, 0), 40), "NVIDIA H100 80GB HBM3": ((9, 0), 80),
    "NVIDIA RTX A1000": ((8, 6), 8),      # in no table of the course: the notebook must measure its peak
}
CUDA = torch.device("cuda", 0)
MIXED = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
NUMPY = "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."
WHERE = " (Triggered internally at /pytorch/aten/src/ATen/native/transformers/cuda/sdp_utils.cpp:{}.)"
SYNCING = {"item", "tolist", "cpu", "__bool__", "__float__", "__int__", "__index__", "__repr__", "__format__",
           "nonzero", "equal", "allclose"}
MAY_MIX = {"to", "cuda", "cpu", "copy_", "__getitem__", "__setitem__", "__set__", "_has_compatible_shallow_copy_type"}
METADATA = {"__get__", "size", "dim", "numel", "stride", "is_floating_point", "is_complex", "is_contiguous",
            "data_ptr", "element_size", "_has_compatible_shallow_copy_type", "_set_grad_enabled", "_parse_to",
            "untyped_storage", "requires_grad_", "__len__"}


def on_gpu(t):
    return isinstance(t, torch.Tensor) and getattr(t, "_pretend_cuda", False)


def is_cuda_spec(d):
    """Whether a device argument (str, torch.device or index) names the GPU."""
    if isinstance(d, torch.device):
        return d.type == "cuda"
    if isinstance(d, str):
        return d.split(":")[0] == "cuda"
    return isinstance(d, int) and not isinstance(d, bool)


def dtype_name(dtype):
    return {torch.float16: "Half", torch.bfloat16: "BFloat16", torch.float32: "float"}.get(dtype, str(dtype))


def sdpa_reasons(backend, cap, q, k, v, has_mask):
    """Why `backend` can't run these inputs on a GPU of compute capability `cap` ([] if it can), in the words
    of PyTorch's sdp_utils.cpp (the checks this course can meet: hardware, dtype, head size, mask)."""
    sm = f"Attempting to run on a sm {cap[0]}.{cap[1]} gpu."
    dtypes = f"Got Query dtype: {dtype_name(q.dtype)}, Key dtype: {dtype_name(k.dtype)}, and Value dtype: " \
             f"{dtype_name(v.dtype)} instead."
    half = q.dtype in (torch.float16, torch.bfloat16)
    low = (torch.float16, torch.bfloat16) if cap >= (8, 0) else (torch.float16,)
    low_text = "{Half, BFloat16}" if cap >= (8, 0) else "{Half}"
    d = q.shape[-1]
    if backend == SDPBackend.FLASH_ATTENTION:
        checks = [(not has_mask, "Flash Attention does not support non-null attn_mask."),
                  (d <= 256, f"Flash attention requires q,k,v to have the same last dimension and to be less "
                             f"than or equal to 256. Got Query.size(-1): {d}, Key.size(-1): {d}, Value.size(-1): {d} instead."),
                  ((8, 0) <= cap <= (12, 1), f"Flash attention only supports gpu architectures in the range "
                                             f"[sm80, sm121]. {sm}"),
                  (q.dtype in low, f"Expected query, key and value to all be of dtype: {low_text}. {dtypes}")]
    elif backend == SDPBackend.EFFICIENT_ATTENTION:
        align = (8 if half else 4) if cap >= (8, 0) else (8 if half else 1)
        ok = (torch.float16, torch.float32) + ((torch.bfloat16,) if cap >= (8, 0) else ())
        checks = [((5, 0) <= cap <= (12, 1), f"Mem Efficient Attention only supports gpu architectures in the "
                                             f"range [sm50, sm121]. {sm}"),
                  (d % align == 0, f"Mem efficient attention requires last dimension of inputs to be divisible by "
                                   f"{align}. Got Query.size(-1): {d}, Key.size(-1): {d}, Value.size(-1): {d} instead."),
                  (q.dtype in ok, "Expected query, key and value to all be of dtype: {"
                                  + ", ".join(dtype_name(t) for t in ok) + f"}}. {dtypes}")]
    elif backend == SDPBackend.CUDNN_ATTENTION:
        checks = [(q.dtype in low, f"Expected query, key and value to all be of dtype: {low_text}. {dtypes}"),
                  ((8, 0) <= cap <= (12, 1), f"cuDNN MHA only supports gpu architectures in the range [sm80, sm121]. {sm}"),
                  (d <= (256 if cap == (9, 0) else 128), "head_dim should be no more than 128"),
                  (d % 8 == 0, "head_dim should be a multiple of 8")]
    else:
        return []
    for ok, why in checks:
        if not ok:
            return [why]      # PyTorch stops at the first check that fails
    return []


FLAGS = {SDPBackend.FLASH_ATTENTION: (torch.backends.cuda.flash_sdp_enabled, "Flash attention"),
         SDPBackend.EFFICIENT_ATTENTION: (torch.backends.cuda.mem_efficient_sdp_enabled, "Memory Efficient attention"),
         SDPBackend.CUDNN_ATTENTION: (torch.backends.cuda.cudnn_sdp_enabled, "cuDNN attention"),
         SDPBackend.MATH: (torch.backends.cuda.math_sdp_enabled, "Math")}


def choose_backend(cap, q, k, v, has_mask, warn=False):
    """The backend PyTorch's select_sdp_backend picks on this GPU, or SDPBackend.ERROR (warning why if `warn`)."""
    order = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.CUDNN_ATTENTION]
    if cap in ((9, 0), (10, 0)):                 # cuDNN >= 9.9 is preferred on these
        order = [SDPBackend.CUDNN_ATTENTION] + [b for b in order if b != SDPBackend.CUDNN_ATTENTION]
    for b in order:
        if FLAGS[b][0]() and not sdpa_reasons(b, cap, q, k, v, has_mask):
            return b
    if warn:
        line = 700
        for b, header in ((SDPBackend.EFFICIENT_ATTENTION, "Memory efficient kernel not used because:"),
                          (SDPBackend.FLASH_ATTENTION, "Flash attention kernel not used because:"),
                          (SDPBackend.CUDNN_ATTENTION, "cuDNN attention kernel not used because:")):
            reasons = ([f"{FLAGS[b][1]} has been runtime disabled."] if not FLAGS[b][0]()
                       else sdpa_reasons(b, cap, q, k, v, has_mask))
            for text in [header] + reasons:
                line += 17
                warnings.warn(text + WHERE.format(line), UserWarning, stacklevel=3)
    return SDPBackend.ERROR


class PretendGPU(TorchFunctionMode):
    """The torch-function mode that labels, checks and counts; see the module docstring."""

    def __init__(self, name):
        super().__init__()
        self.name, (self.capability, self.memory_gib) = name, GPUS.get(name, ((8, 0), 16))
        self.queued = 0                  # operations queued since the last synchronisation
        self.early_reads = []            # (context, file:line, operations queued) of clock reads with queued work
        self.clock_reads = 0
        self.syncs = 0
        self.allocated = self.peak = 0
        self.storages = {}               # storage pointer -> [labelled tensors using it, bytes]
        self.refs = {}
        self.backends_used = set()       # (dtype, backend) of the GPU SDPA calls
        self.context = ""                # set by the caller (e.g. the cell being run), noted with early reads
        self._clock = time.perf_counter

    # ---- labels and memory ----
    def label(self, t):
        if not isinstance(t, torch.Tensor) or on_gpu(t):
            return t
        t._pretend_cuda = True
        storage = t.untyped_storage()
        key, nbytes = storage.data_ptr(), storage.nbytes()
        entry = self.storages.setdefault(key, [0, nbytes])
        if entry[0] == 0:
            self.allocated += nbytes
            self.peak = max(self.peak, self.allocated)
        entry[0] += 1

        def freed(ref, key=key):
            self.refs.pop(id(ref), None)
            entry = self.storages.get(key)
            if entry:
                entry[0] -= 1
                if entry[0] == 0:
                    self.allocated -= entry[1]
                    del self.storages[key]
        ref = weakref.ref(t, freed)
        self.refs[id(ref)] = ref
        return t

    def synchronize(self, device=None):
        self.queued, self.syncs = 0, self.syncs + 1

    def clock(self):
        self.clock_reads += 1
        if self.queued:
            frame = sys._getframe(1)
            self.early_reads.append((self.context, f"{frame.f_code.co_filename}:{frame.f_lineno}", self.queued))
        return self._clock()

    # ---- every torch call ----
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name == "__get__":
            prop = getattr(func.__self__, "__name__", "")
            if prop == "device" and on_gpu(args[0]):
                return CUDA
            if prop == "is_cuda":
                return on_gpu(args[0])
            out = func(*args, **kwargs)
            return self.label(out) if on_gpu(args[0]) and isinstance(out, torch.Tensor) else out
        if name == "__set__" and getattr(func.__self__, "__name__", "") == "data":   # Module.to: param.data = moved
            func(*args, **kwargs)
            if on_gpu(args[1]):
                self.label(args[0])
            return None
        if name == "_parse_to":           # Module.to's argument parser: keep "cuda" as it is
            return func(*args, **kwargs)
        tensors = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        gpu_in = any(on_gpu(t) for t in tensors)
        if name in ("numpy", "__array__") and gpu_in:
            raise TypeError(NUMPY)
        if gpu_in and name not in MAY_MIX and any(not on_gpu(t) and t.dim() > 0 for t in tensors):
            raise RuntimeError(MIXED)
        if name == "_fused_sdp_choice" and gpu_in:
            return int(choose_backend(self.capability, *args[:3], kwargs.get("attn_mask") is not None))
        if name == "scaled_dot_product_attention" and gpu_in:
            return self.sdpa(func, args, kwargs)
        target, args, kwargs = self.where_to(name, args, kwargs, gpu_in)
        out = func(*args, **kwargs)
        if name in ("to", "cuda", "cpu") and target != gpu_in and out is args[0]:
            out = out.clone()             # a move makes a new tensor
        if target:
            tree_map(self.label, out)
        if gpu_in and name in SYNCING:
            self.queued = 0
        elif (gpu_in or target) and name not in METADATA:
            self.queued += 1
        return out

    def where_to(self, name, args, kwargs, gpu_in):
        """(is the result on the GPU, args, kwargs with the GPU replaced by the CPU)."""
        if name == "cuda":
            return True, args[:1], {}
        if name == "cpu":
            return False, args, kwargs
        target = gpu_in
        if "device" in kwargs and kwargs["device"] is not None:
            target = is_cuda_spec(kwargs["device"])
            kwargs = {**kwargs, "device": "cpu"}
        if name == "to":
            rest = []
            for a in args[1:]:
                if isinstance(a, torch.Tensor):       # .to(other): other's device and dtype
                    target = on_gpu(a)
                    rest.append(a.dtype)
                elif isinstance(a, (str, torch.device, int)) and not isinstance(a, bool):
                    target = is_cuda_spec(a)
                    rest.append("cpu")
                else:
                    rest.append(a)
            args = args[:1] + tuple(rest)
        return target, args, kwargs

    def sdpa(self, func, args, kwargs):
        q, k, v = args[:3]
        mask = kwargs.get("attn_mask", args[3] if len(args) > 3 else None)
        backend = choose_backend(self.capability, q, k, v, mask is not None, warn=True)
        if backend == SDPBackend.ERROR:
            raise RuntimeError("No available kernel. Aborting execution.")
        self.backends_used.add((q.dtype, backend))
        with torch.nn.attention.sdpa_kernel([SDPBackend.MATH]):
            out = func(*args, **kwargs)
        self.queued += 1
        return self.label(out)


class Event:
    """torch.cuda.Event on the pretend GPU: record() notes the clock; elapsed_time needs synchronised events."""

    def __init__(self, gpu, enable_timing=False, **_):
        self.gpu, self.enable_timing, self.at = gpu, enable_timing, None

    def record(self, stream=None):
        self.at = self.gpu._clock()

    def synchronize(self):
        self.gpu.synchronize()

    def elapsed_time(self, end):
        if not (self.enable_timing and end.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        return (end.at - self.at) * 1e3


@contextlib.contextmanager
def pretend_gpu(name="Tesla T4"):
    """Run the block as if PyTorch had the CUDA GPU `name`; yields the PretendGPU with what it recorded."""
    gpu = PretendGPU(name)
    cap, mem = gpu.capability, gpu.memory_gib
    props = SimpleNamespace(name=name, major=cap[0], minor=cap[1], total_memory=mem * 2**30,
                            multi_processor_count=40)

    def peak_reset(device=None):
        gpu.peak = gpu.allocated

    fakes = {
        "is_available": lambda: True, "device_count": lambda: 1, "current_device": lambda: 0,
        "is_initialized": lambda: True, "get_device_name": lambda device=None: name,
        "get_device_capability": lambda device=None: cap, "get_device_properties": lambda device=None: props,
        "synchronize": gpu.synchronize, "Event": lambda **kw: Event(gpu, **kw),
        "memory_allocated": lambda device=None: gpu.allocated,
        "max_memory_allocated": lambda device=None: gpu.peak,
        "reset_peak_memory_stats": peak_reset, "empty_cache": lambda: None,
    }
    real_make_subclass = torch.Tensor._make_subclass

    def make_subclass(cls, data, requires_grad=False, **kwargs):      # nn.Parameter(gpu tensor), as deepcopy makes
        out = real_make_subclass(cls, data, requires_grad, **kwargs)
        return gpu.label(out) if on_gpu(data) else out

    threads, flags = torch.get_num_threads(), [f() for f, _ in FLAGS.values()]
    with contextlib.ExitStack() as stack:
        for attr, fake in fakes.items():
            stack.enter_context(mock.patch.object(torch.cuda, attr, fake))
        stack.enter_context(mock.patch.object(torch.Tensor, "_make_subclass", staticmethod(make_subclass)))
        stack.enter_context(mock.patch.object(torch.accelerator, "is_available", lambda: True))
        stack.enter_context(mock.patch.object(torch.accelerator, "synchronize", gpu.synchronize))
        stack.enter_context(mock.patch.object(time, "perf_counter", gpu.clock))
        stack.enter_context(mock.patch.object(timeit, "default_timer", gpu.clock))
        stack.enter_context(torch.nn.attention.sdpa_kernel([b for b, on in zip(FLAGS, flags) if on]))  # restores them
        torch.set_num_threads(1)      # the CPU stands in for a GPU: one thread, fixed, as in the notebooks
        try:
            with gpu:
                yield gpu
        finally:
            torch.set_num_threads(threads)
