"""ctypes binding to the ckernel shared library with numpy-friendly wrappers.

Forward wrappers return freshly allocated float32 arrays (pre-filled with NaN so that any
element the kernel forgets to write is caught by the tests).  Backward wrappers take the
gradient buffers to ACCUMULATE into and modify them in place (ck_rope_backward rotates dx in
place instead).  Every array argument is checked for dtype, C-contiguity and shape.
"""
import ctypes
import os

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LIBRARY_NAMES = {
    "simd": "libckernel.so",          # AVX2+FMA paths
    "scalar": "libckernel_scalar.so",  # -DCK_NO_SIMD scalar C99 paths
}


def build_dir():
    return os.environ.get("CK_BUILD_DIR", os.path.join(REPO_ROOT, "build"))


def library_path(build="simd"):
    return os.path.join(build_dir(), LIBRARY_NAMES[build])


_P = ctypes.c_void_p   # any pointer (float* / int32_t*); None -> NULL
_I = ctypes.c_int
_F = ctypes.c_float
_Z = ctypes.c_size_t

# name: (restype, argtypes)
_SIGNATURES = {
    "ck_embedding_forward": (None, [_P, _P, _P, _P, _I, _I, _I]),
    "ck_embedding_backward": (None, [_P, _P, _P, _P, _I, _I, _I]),
    "ck_matmul_forward": (None, [_P, _P, _P, _P, _I, _I, _I]),
    "ck_matmul_backward": (None, [_P, _P, _P, _P, _P, _P, _I, _I, _I]),
    "ck_rmsnorm_forward": (None, [_P, _P, _P, _P, _I, _I, _F]),
    "ck_rmsnorm_backward": (None, [_P, _P, _P, _P, _P, _P, _I, _I]),
    "ck_layernorm_forward": (None, [_P, _P, _P, _P, _P, _P, _I, _I, _F]),
    "ck_layernorm_backward": (None, [_P, _P, _P, _P, _P, _P, _P, _P, _I, _I]),
    "ck_gelu_forward": (None, [_P, _P, _I]),
    "ck_gelu_backward": (None, [_P, _P, _P, _I]),
    "ck_gelu_erf_forward": (None, [_P, _P, _I]),
    "ck_gelu_erf_backward": (None, [_P, _P, _P, _I]),
    "ck_swiglu_forward": (None, [_P, _P, _P, _I]),
    "ck_swiglu_backward": (None, [_P, _P, _P, _P, _P, _I]),
    "ck_geglu_forward": (None, [_P, _P, _P, _I]),
    "ck_geglu_backward": (None, [_P, _P, _P, _P, _P, _I]),
    "ck_softmax_forward": (None, [_P, _P, _I, _I]),
    "ck_softmax_backward": (None, [_P, _P, _P, _I, _I]),
    "ck_rope_cache": (None, [_P, _I, _I, _F]),
    "ck_rope_forward": (None, [_P, _P, _I, _I, _I, _I, _I, _I]),
    "ck_rope_backward": (None, [_P, _P, _I, _I, _I, _I, _I, _I]),
    "ck_attention_forward": (None, [_P, _P, _P, _P, _P, _I, _I, _I, _I, _I, _I, _I, _F]),
    "ck_attention_backward": (None, [_P, _P, _P, _P, _P, _P, _P, _P, _P,
                                     _I, _I, _I, _I, _I, _I, _I, _F]),
    "ck_cross_entropy_forward": (_F, [_P, _P, _P, _P, _I, _I, _I]),
    "ck_cross_entropy_backward": (None, [_P, _P, _P, _I, _I, _I, _F]),
    "ck_adamw_update": (None, [_P, _P, _P, _P, _Z, _F, _F, _F, _F, _F, _I]),
    "ck_grad_norm": (_F, [_P, _Z]),
}


def _ptr(a, name, shape=None, dtype=np.float32, writable=False, optional=False):
    """Validate a numpy array and return its data address (None -> NULL if optional)."""
    if a is None:
        if not optional:
            raise ValueError(f"{name} must not be None")
        return None
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected numpy.ndarray, got {type(a).__name__}")
    if a.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)}, got {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: array must be C-contiguous")
    if writable and not a.flags.writeable:
        raise ValueError(f"{name}: array must be writeable")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(a.shape)}")
    return a.ctypes.data


def _nan(shape):
    return np.full(shape, np.nan, dtype=np.float32)


def _i32(a, name, shape=None):
    return _ptr(a, name, shape, dtype=np.int32)


class CKernel:
    """Thin pythonic wrapper around one build of the ckernel shared library."""

    def __init__(self, path, name=None):
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        self.path = path
        self.name = name or os.path.basename(path)
        self.lib = ctypes.CDLL(path)
        for fn, (restype, argtypes) in _SIGNATURES.items():
            f = getattr(self.lib, fn)   # AttributeError if the symbol is missing
            f.restype = restype
            f.argtypes = argtypes

    def __repr__(self):
        return f"CKernel({self.name!r}, {self.path!r})"

    # ------------------------------------------------------------------ embedding
    def embedding_forward(self, tokens, wte, wpe=None, pos0=0):
        (T,) = tokens.shape
        _, C = wte.shape
        _i32(tokens, "tokens", (T,))
        _ptr(wte, "wte")
        assert T == 0 or (tokens.min() >= 0 and tokens.max() < wte.shape[0]), "token id out of range"
        if wpe is not None:
            assert wpe.ndim == 2 and wpe.shape[1] == C and wpe.shape[0] >= pos0 + T
        out = _nan((T, C))
        self.lib.ck_embedding_forward(_ptr(out, "out"), tokens.ctypes.data, wte.ctypes.data,
                                      _ptr(wpe, "wpe", optional=True), T, C, pos0)
        return out

    def embedding_backward(self, dwte, dwpe, dout, tokens, pos0=0):
        T, C = dout.shape
        assert dwte.ndim == 2 and dwte.shape[1] == C
        assert T == 0 or (tokens.min() >= 0 and tokens.max() < dwte.shape[0]), "token id out of range"
        if dwpe is not None:
            assert dwpe.ndim == 2 and dwpe.shape[1] == C and dwpe.shape[0] >= pos0 + T
        self.lib.ck_embedding_backward(_ptr(dwte, "dwte", writable=True),
                                       _ptr(dwpe, "dwpe", writable=True, optional=True),
                                       _ptr(dout, "dout"), _i32(tokens, "tokens", (T,)),
                                       T, C, pos0)

    # ------------------------------------------------------------------ matmul
    def matmul_forward(self, inp, weight, bias=None):
        T, C = inp.shape
        OC, _ = weight.shape
        out = _nan((T, OC))
        self.lib.ck_matmul_forward(_ptr(out, "out"), _ptr(inp, "inp"), _ptr(weight, "weight", (OC, C)),
                                   _ptr(bias, "bias", (OC,), optional=True), T, C, OC)
        return out

    def matmul_backward(self, dinp, dweight, dbias, dout, inp, weight):
        T, C = inp.shape
        OC, _ = weight.shape
        self.lib.ck_matmul_backward(_ptr(dinp, "dinp", (T, C), writable=True),
                                    _ptr(dweight, "dweight", (OC, C), writable=True),
                                    _ptr(dbias, "dbias", (OC,), writable=True, optional=True),
                                    _ptr(dout, "dout", (T, OC)), _ptr(inp, "inp"),
                                    _ptr(weight, "weight", (OC, C)), T, C, OC)

    # ------------------------------------------------------------------ rmsnorm
    def rmsnorm_forward(self, inp, weight, eps):
        T, C = inp.shape
        out, rstd = _nan((T, C)), _nan((T,))
        self.lib.ck_rmsnorm_forward(_ptr(out, "out"), _ptr(rstd, "rstd"), _ptr(inp, "inp"),
                                    _ptr(weight, "weight", (C,)), T, C, eps)
        return out, rstd

    def rmsnorm_backward(self, dinp, dweight, dout, inp, weight, rstd):
        T, C = inp.shape
        self.lib.ck_rmsnorm_backward(_ptr(dinp, "dinp", (T, C), writable=True),
                                     _ptr(dweight, "dweight", (C,), writable=True),
                                     _ptr(dout, "dout", (T, C)), _ptr(inp, "inp"),
                                     _ptr(weight, "weight", (C,)), _ptr(rstd, "rstd", (T,)), T, C)

    # ------------------------------------------------------------------ layernorm
    def layernorm_forward(self, inp, weight, bias, eps):
        T, C = inp.shape
        out, mean, rstd = _nan((T, C)), _nan((T,)), _nan((T,))
        self.lib.ck_layernorm_forward(_ptr(out, "out"), _ptr(mean, "mean"), _ptr(rstd, "rstd"),
                                      _ptr(inp, "inp"), _ptr(weight, "weight", (C,)),
                                      _ptr(bias, "bias", (C,), optional=True), T, C, eps)
        return out, mean, rstd

    def layernorm_backward(self, dinp, dweight, dbias, dout, inp, weight, mean, rstd):
        T, C = inp.shape
        self.lib.ck_layernorm_backward(_ptr(dinp, "dinp", (T, C), writable=True),
                                       _ptr(dweight, "dweight", (C,), writable=True),
                                       _ptr(dbias, "dbias", (C,), writable=True, optional=True),
                                       _ptr(dout, "dout", (T, C)), _ptr(inp, "inp"),
                                       _ptr(weight, "weight", (C,)), _ptr(mean, "mean", (T,)),
                                       _ptr(rstd, "rstd", (T,)), T, C)

    # ------------------------------------------------------------------ pointwise
    def _unary_fwd(self, fn, inp):
        out = _nan(inp.shape)
        fn(_ptr(out, "out"), _ptr(inp, "inp"), inp.size)
        return out

    def _unary_bwd(self, fn, dinp, dout, inp):
        fn(_ptr(dinp, "dinp", inp.shape, writable=True), _ptr(dout, "dout", inp.shape),
           _ptr(inp, "inp"), inp.size)

    def gelu_forward(self, inp):
        return self._unary_fwd(self.lib.ck_gelu_forward, inp)

    def gelu_backward(self, dinp, dout, inp):
        self._unary_bwd(self.lib.ck_gelu_backward, dinp, dout, inp)

    def gelu_erf_forward(self, inp):
        return self._unary_fwd(self.lib.ck_gelu_erf_forward, inp)

    def gelu_erf_backward(self, dinp, dout, inp):
        self._unary_bwd(self.lib.ck_gelu_erf_backward, dinp, dout, inp)

    def _glu_fwd(self, fn, gate, up):
        out = _nan(gate.shape)
        fn(_ptr(out, "out"), _ptr(gate, "gate"), _ptr(up, "up", gate.shape), gate.size)
        return out

    def _glu_bwd(self, fn, dgate, dup, dout, gate, up):
        s = gate.shape
        fn(_ptr(dgate, "dgate", s, writable=True), _ptr(dup, "dup", s, writable=True),
           _ptr(dout, "dout", s), _ptr(gate, "gate"), _ptr(up, "up", s), gate.size)

    def swiglu_forward(self, gate, up):
        return self._glu_fwd(self.lib.ck_swiglu_forward, gate, up)

    def swiglu_backward(self, dgate, dup, dout, gate, up):
        self._glu_bwd(self.lib.ck_swiglu_backward, dgate, dup, dout, gate, up)

    def geglu_forward(self, gate, up):
        return self._glu_fwd(self.lib.ck_geglu_forward, gate, up)

    def geglu_backward(self, dgate, dup, dout, gate, up):
        self._glu_bwd(self.lib.ck_geglu_backward, dgate, dup, dout, gate, up)

    # ------------------------------------------------------------------ softmax
    def softmax_forward(self, inp):
        rows, cols = inp.shape
        out = _nan((rows, cols))
        self.lib.ck_softmax_forward(_ptr(out, "out"), _ptr(inp, "inp"), rows, cols)
        return out

    def softmax_backward(self, dinp, dout, out):
        rows, cols = out.shape
        self.lib.ck_softmax_backward(_ptr(dinp, "dinp", (rows, cols), writable=True),
                                     _ptr(dout, "dout", (rows, cols)), _ptr(out, "out"), rows, cols)

    # ------------------------------------------------------------------ rope
    def rope_cache(self, max_T, n_rot, theta):
        assert n_rot % 2 == 0
        cs = _nan((max_T, n_rot // 2, 2))
        self.lib.ck_rope_cache(_ptr(cs, "cos_sin"), max_T, n_rot, theta)
        return cs

    def _rope_check(self, x, cos_sin, n_rot, pos0):
        NH, T, HS = x.shape
        assert n_rot % 2 == 0 and n_rot <= HS
        _ptr(cos_sin, "cos_sin")
        assert cos_sin.ndim == 3 and cos_sin.shape[1:] == (n_rot // 2, 2) and cos_sin.shape[0] >= pos0 + T
        return NH, T, HS

    def rope_forward(self, x, cos_sin, n_rot, pos0=0, neox=0, inplace=False):
        """Rotates x [NH,T,HS]; returns a rotated copy unless inplace=True."""
        NH, T, HS = self._rope_check(x, cos_sin, n_rot, pos0)
        y = x if inplace else x.copy()
        self.lib.ck_rope_forward(_ptr(y, "x", writable=True), cos_sin.ctypes.data,
                                 NH, T, HS, n_rot, pos0, int(neox))
        return y

    def rope_backward(self, dx, cos_sin, n_rot, pos0=0, neox=0):
        """In place: dx (holding dL/d(rope(x))) becomes dL/dx."""
        NH, T, HS = self._rope_check(dx, cos_sin, n_rot, pos0)
        self.lib.ck_rope_backward(_ptr(dx, "dx", writable=True), cos_sin.ctypes.data,
                                  NH, T, HS, n_rot, pos0, int(neox))

    # ------------------------------------------------------------------ attention
    def _attn_dims(self, q, k, v):
        NH, T, HS = q.shape
        NKV, Tk, HS2 = k.shape
        assert HS2 == HS and v.shape == k.shape and NH % NKV == 0
        _ptr(q, "q"), _ptr(k, "k"), _ptr(v, "v")
        return NH, NKV, T, Tk, HS

    def attention_forward(self, q, k, v, pos0=0, window=0, scale=None):
        NH, NKV, T, Tk, HS = self._attn_dims(q, k, v)
        if scale is None:
            scale = 1.0 / np.sqrt(HS)
        out, lse = _nan((NH, T, HS)), _nan((NH, T))
        self.lib.ck_attention_forward(_ptr(out, "out"), _ptr(lse, "lse"), q.ctypes.data,
                                      k.ctypes.data, v.ctypes.data,
                                      NH, NKV, T, Tk, HS, pos0, window, scale)
        return out, lse

    def attention_backward(self, dq, dk, dv, dout, out, lse, q, k, v, pos0=0, window=0, scale=None):
        NH, NKV, T, Tk, HS = self._attn_dims(q, k, v)
        if scale is None:
            scale = 1.0 / np.sqrt(HS)
        self.lib.ck_attention_backward(_ptr(dq, "dq", q.shape, writable=True),
                                       _ptr(dk, "dk", k.shape, writable=True),
                                       _ptr(dv, "dv", k.shape, writable=True),
                                       _ptr(dout, "dout", q.shape), _ptr(out, "out", q.shape),
                                       _ptr(lse, "lse", (NH, T)), q.ctypes.data, k.ctypes.data,
                                       v.ctypes.data, NH, NKV, T, Tk, HS, pos0, window, scale)

    # ------------------------------------------------------------------ cross entropy
    @staticmethod
    def _check_targets(targets, V, ignore_index):
        ok = (targets == ignore_index) | ((targets >= 0) & (targets < V))
        assert np.all(ok), "target out of range (and not ignore_index)"

    def cross_entropy_forward(self, logits, targets, ignore_index=-100):
        """Returns (mean_loss, losses[T], probs[T,V])."""
        T, V = logits.shape
        self._check_targets(targets, V, ignore_index)
        losses, probs = _nan((T,)), _nan((T, V))
        mean = self.lib.ck_cross_entropy_forward(_ptr(losses, "losses"), _ptr(probs, "probs"),
                                                 _ptr(logits, "logits"), _i32(targets, "targets", (T,)),
                                                 T, V, ignore_index)
        return float(mean), losses, probs

    def cross_entropy_backward(self, dlogits, probs, targets, ignore_index=-100, dloss=1.0):
        T, V = probs.shape
        self._check_targets(targets, V, ignore_index)
        self.lib.ck_cross_entropy_backward(_ptr(dlogits, "dlogits", (T, V), writable=True),
                                           _ptr(probs, "probs"), _i32(targets, "targets", (T,)),
                                           T, V, ignore_index, dloss)

    # ------------------------------------------------------------------ optimizer
    def adamw_update(self, param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                     weight_decay=0.0, step=1):
        """In place on param, m, v (step counts from 1)."""
        n = param.size
        self.lib.ck_adamw_update(_ptr(param, "param", writable=True), _ptr(grad, "grad", param.shape),
                                 _ptr(m, "m", param.shape, writable=True),
                                 _ptr(v, "v", param.shape, writable=True),
                                 n, lr, beta1, beta2, eps, weight_decay, step)

    def grad_norm(self, grad):
        return float(self.lib.ck_grad_norm(_ptr(grad, "grad"), grad.size))
