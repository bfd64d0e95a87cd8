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
    "ck_rope_params_init": (None, [_P, _I, _F, _F, _I, _F, _P]),
    "ck_rope_cache_ext": (None, [_P, _I, _I, _P]),
    "ck_rope_scaling_from_name": (_I, [ctypes.c_char_p, _Z]),
    "ck_softcap_forward": (None, [_P, _P, _F, _Z]),
    "ck_softcap_backward": (None, [_P, _P, _P, _F, _Z]),
    "ck_attention_forward": (None, [_P, _P, _P, _P, _P, _I, _I, _I, _I, _I, _I, _I, _F, _F]),
    "ck_attention_backward": (None, [_P, _P, _P, _P, _P, _P, _P, _P, _P,
                                     _I, _I, _I, _I, _I, _I, _I, _F, _F]),
    "ck_cross_entropy_forward": (_F, [_P, _P, _P, _P, _I, _I, _I]),
    "ck_cross_entropy_backward": (None, [_P, _P, _P, _I, _I, _I, _F]),
    "ck_adamw_update": (None, [_P, _P, _P, _P, _Z, _F, _F, _F, _F, _F, _I]),
    "ck_grad_norm": (_F, [_P, _Z]),
}


_U16 = ctypes.c_uint16
_I64 = ctypes.c_int64
_S = ctypes.c_char_p

# quantized types (ids = GGUF tensor type ids), optional at load time (see CKernel.__init__)
_Q_SIGNATURES = {
    "ck_type_name": (_S, [_I]),
    "ck_type_from_name": (_I, [_S]),
    "ck_type_block_size": (_I64, [_I]),
    "ck_type_block_bytes": (_Z, [_I]),
    "ck_row_size": (_Z, [_I, _I64]),
    "ck_fp16_to_fp32": (_F, [_U16]),
    "ck_fp32_to_fp16": (_U16, [_F]),
    "ck_bf16_to_fp32": (_F, [_U16]),
    "ck_fp32_to_bf16": (_U16, [_F]),
    "ck_dequantize_row": (None, [_I, _P, _P, _I64]),
    "ck_quantize_row": (_Z, [_I, _P, _P, _I64]),
    "ck_quantize_act_row": (_I, [_I, _P, _P, _I64]),
    "ck_quantize_act_row_scalar": (_I, [_I, _P, _P, _I64]),
    "ck_matmul_forward_q": (None, [_I, _P, _P, _P, _P, _I, _I, _I]),
    "ck_matmul_forward_qp": (None, [_I, _I, _P, _P, _P, _P, _I, _I, _I]),
    "ck_matmul_backward_q": (None, [_I, _P, _P, _P, _I, _I, _I, _P]),
    "ck_matmul_backward_q_scalar": (None, [_I, _P, _P, _P, _I, _I, _I, _P]),
    "ck_gguf_open": (_I, [_P, _S]),
    "ck_gguf_close": (None, [_P]),
    "ck_rope_params_from_gguf": (_I, [_P, _P, _P, _I, _I, _P, _Z]),
}

Q_EXACT, Q_FAST = 0, 1   # CK_Q_EXACT: dequantize weights, fp32 math; CK_Q_FAST: quantized activations
TYPE_IDS = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "q8_1": 9,
            "q2_K": 10, "q3_K": 11, "q4_K": 12, "q5_K": 13, "q6_K": 14, "q8_K": 15, "iq4_nl": 20, "bf16": 30}
GUARD = 64   # bytes past every output buffer that must stay untouched
MATMUL_BQ_ROWS = 256   # ckernel.h's CK_MATMUL_BQ_ROWS: ck_matmul_backward_q's scratch is [min(OC, it), C]


class RopeParams(ctypes.Structure):
    """ck_rope_params"""
    _fields_ = [("freq_base", _F), ("freq_scale", _F), ("ext_factor", _F), ("attn_factor", _F),
                ("beta_fast", _F), ("beta_slow", _F), ("n_ctx_orig", _I), ("freq_factors", _P)]

    @classmethod
    def from_dict(cls, d):
        """the struct for a dict as oracle.rope.params() makes it (freq_factors kept alive on it)"""
        p = cls(**{k: d[k] for k, _ in cls._fields_ if k != "freq_factors"})
        ff = d.get("freq_factors")
        if ff is not None:
            p._keep = np.ascontiguousarray(ff, dtype=np.float32)
            p.freq_factors = p._keep.ctypes.data
        return p

    def as_dict(self, n_rot):
        """the fields as oracle.rope.params() has them (freq_factors: a list, or None)"""
        d = {k: getattr(self, k) for k, _ in self._fields_ if k != "freq_factors"}
        ff = self.freq_factors
        d["freq_factors"] = None if not ff else list(ctypes.cast(ff, ctypes.POINTER(_F))[:n_rot // 2])
        return d


ROPE_SCALING = {"none": 0, "linear": 1, "yarn": 2, "longrope": 3}   # enum ck_rope_scaling
GGUF_STRUCT_BYTES = 1 << 14   # ck_gguf is opaque to Python: a buffer much larger than sizeof(ck_gguf)


def type_id(t):
    return TYPE_IDS[t] if isinstance(t, str) else int(t)


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
        # quantized types / GGUF: bound when present, so the FP32 suite runs on a library that
        # predates them; using a missing one raises (a test failure, never a skip)
        self.missing = []
        for fn, (restype, argtypes) in _Q_SIGNATURES.items():
            f = getattr(self.lib, fn, None)
            if f is None:
                self.missing.append(fn)
                continue
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

    def softcap_forward(self, inp, cap):
        out = _nan(inp.shape)
        self.lib.ck_softcap_forward(_ptr(out, "out"), _ptr(inp, "inp"), cap, inp.size)
        return out

    def softcap_backward(self, dinp, dout, inp, cap):
        self.lib.ck_softcap_backward(_ptr(dinp, "dinp", inp.shape, writable=True), _ptr(dout, "dout", inp.shape),
                                     _ptr(inp, "inp"), cap, inp.size)

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

    # ------------------------------------------------------------------ rope scaling
    def rope_params(self, scaling="none", freq_base=10000.0, factor=0.0, n_ctx_orig=0, attn_factor=1.0,
                    freq_factors=None):
        """ck_rope_params_init; freq_factors (float32 [n_rot/2]) is kept alive on the result"""
        p = RopeParams()
        s = ROPE_SCALING[scaling] if isinstance(scaling, str) else int(scaling)
        self.lib.ck_rope_params_init(ctypes.byref(p), s, freq_base, factor, n_ctx_orig, attn_factor,
                                     _ptr(freq_factors, "freq_factors", optional=True))
        p._keep = freq_factors
        return p

    def rope_scaling_from_name(self, name):
        b = name.encode()
        return self.lib.ck_rope_scaling_from_name(b, len(b))

    def rope_cache_ext(self, max_T, n_rot, params):
        assert n_rot % 2 == 0
        cs = _nan((max_T, n_rot // 2, 2))
        self.lib.ck_rope_cache_ext(_ptr(cs, "cos_sin"), max_T, n_rot, ctypes.byref(params))
        return cs

    def rope_params_from_gguf(self, path, n_rot, n_ctx=0):
        """ck_rope_params_from_gguf on the file at path -> (params as a dict (see RopeParams.as_dict),
        factors tensor name or None); raises ValueError with ckernel's message on -1"""
        g = ctypes.create_string_buffer(GGUF_STRUCT_BYTES)
        if self.lib.ck_gguf_open(g, path.encode()) != 0:
            raise OSError(f"ck_gguf_open({path}) failed")
        try:
            p, name, err = RopeParams(), ctypes.c_char_p(), ctypes.create_string_buffer(512)
            rc = self.lib.ck_rope_params_from_gguf(ctypes.byref(p), ctypes.byref(name), g, n_rot, n_ctx, err, len(err))
            if rc != 0:
                raise ValueError(err.value.decode())
            return p.as_dict(n_rot), (name.value.decode() if name.value else None)
        finally:
            self.lib.ck_gguf_close(g)

    # ------------------------------------------------------------------ attention
    def _attn_dims(self, q, k, v):
        NH, T, HS = q.shape
        NKV, Tk, HS2 = k.shape
        assert HS2 == HS and v.shape == k.shape and NH % NKV == 0
        _ptr(q, "q"), _ptr(k, "k"), _ptr(v, "v")
        return NH, NKV, T, Tk, HS

    def attention_forward(self, q, k, v, pos0=0, window=0, scale=None, softcap=0.0):
        NH, NKV, T, Tk, HS = self._attn_dims(q, k, v)
        if scale is None:
            scale = 1.0 / np.sqrt(HS)
        out, lse = _nan((NH, T, HS)), _nan((NH, T))
        self.lib.ck_attention_forward(_ptr(out, "out"), _ptr(lse, "lse"), q.ctypes.data,
                                      k.ctypes.data, v.ctypes.data,
                                      NH, NKV, T, Tk, HS, pos0, window, scale, softcap)
        return out, lse

    def attention_backward(self, dq, dk, dv, dout, out, lse, q, k, v, pos0=0, window=0, scale=None,
                           softcap=0.0):
        NH, NKV, T, Tk, HS = self._attn_dims(q, k, v)
        if scale is None:
            scale = 1.0 / np.sqrt(HS)
        self.lib.ck_attention_backward(_ptr(dq, "dq", q.shape, writable=True),
                                       _ptr(dk, "dk", k.shape, writable=True),
                                       _ptr(dv, "dv", k.shape, writable=True),
                                       _ptr(dout, "dout", q.shape), _ptr(out, "out", q.shape),
                                       _ptr(lse, "lse", (NH, T)), q.ctypes.data, k.ctypes.data,
                                       v.ctypes.data, NH, NKV, T, Tk, HS, pos0, window, scale, softcap)

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

    # ------------------------------------------------------------------ quantized types
    def _q(self, fn):
        f = getattr(self.lib, fn, None)
        if f is None or fn in self.missing:
            raise AttributeError(f"{self.path}: {fn} is not exported (quantization API missing from this build)")
        return f

    def type_name(self, t):
        r = self._q("ck_type_name")(type_id(t))
        return None if r is None else r.decode()

    def type_from_name(self, name):
        return int(self._q("ck_type_from_name")(name.encode() if isinstance(name, str) else name))

    def type_block_size(self, t):
        return int(self._q("ck_type_block_size")(type_id(t)))

    def type_block_bytes(self, t):
        return int(self._q("ck_type_block_bytes")(type_id(t)))

    def row_size(self, t, n):
        return int(self._q("ck_row_size")(type_id(t), n))

    def fp16_to_fp32(self, h):
        return np.float32(self._q("ck_fp16_to_fp32")(int(h)))

    def fp32_to_fp16(self, x):
        return int(self._q("ck_fp32_to_fp16")(float(np.float32(x))))

    def bf16_to_fp32(self, h):
        return np.float32(self._q("ck_bf16_to_fp32")(int(h)))

    def fp32_to_bf16(self, x):
        return int(self._q("ck_fp32_to_bf16")(float(np.float32(x))))

    def dequantize_row(self, t, data, n):
        """bytes of one row (n elements of type t) -> float32[n]. Output pre-filled with NaN and
        followed by a guard that must stay untouched."""
        rs = self.row_size(t, n)
        src = np.frombuffer(bytes(data), dtype=np.uint8).copy()
        assert src.size >= rs, f"dequantize_row: {src.size} bytes < row size {rs}"
        out = np.full(n + GUARD, np.nan, dtype=np.float32)
        self._q("ck_dequantize_row")(type_id(t), src.ctypes.data, out.ctypes.data, n)
        assert np.all(np.isnan(out[n:])), f"ck_dequantize_row({t}, n={n}) wrote past the end of dst"
        return out[:n].copy()

    def quantize_row(self, t, x):
        """float32[n] -> (bytes of the row, bytes written as returned). The destination is
        pre-filled with 0xA5 and followed by a guard that must stay untouched."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = x.size
        rs = self.row_size(t, n)
        dst = np.full(rs + GUARD, 0xA5, dtype=np.uint8)
        x_before = x.copy()
        written = int(self._q("ck_quantize_row")(type_id(t), x.ctypes.data, dst.ctypes.data, n))
        assert np.all(dst[rs:] == 0xA5), f"ck_quantize_row({t}, n={n}) wrote past the row size {rs}"
        assert np.array_equal(x.view(np.uint32), x_before.view(np.uint32)), "ck_quantize_row modified src"
        return dst[:rs].tobytes(), written

    def quantize_act_row(self, t, x, scalar=False):
        """float32[n] -> (block type id returned, bytes written): ck_quantize_act_row (or its
        _scalar path) for weights of type t. The destination is pre-filled with 0xA5; the bytes
        past the activation row must stay untouched."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        cap = x.size // 32 * 36 + x.size // 256 * 292 + 2 * x.size   # more than any activation row of x.size values
        dst = np.full(cap + GUARD, 0xA5, dtype=np.uint8)
        x_before = x.copy()
        fn = "ck_quantize_act_row_scalar" if scalar else "ck_quantize_act_row"
        at = int(self._q(fn)(type_id(t), x.ctypes.data, dst.ctypes.data, x.size))
        rs = self.row_size(at, x.size) if at >= 0 else 0
        assert np.all(dst[rs:] == 0xA5), f"{fn}({t}, n={x.size}) wrote past the activation row ({rs} bytes)"
        assert np.array_equal(x.view(np.uint32), x_before.view(np.uint32)), f"{fn} modified src"
        return at, dst[:rs].tobytes()

    def quantize_rows(self, t, x):
        """float32[rows, n] -> bytes of rows (each through ck_quantize_row)"""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = []
        for r in range(x.shape[0]):
            b, w = self.quantize_row(t, x[r])
            assert w == len(b), f"ck_quantize_row({t}) returned {w}, row size is {len(b)}"
            out.append(b)
        return b"".join(out)

    def matmul_forward_qp(self, path, t, inp, weight, bias, OC):
        """out[T, OC] = inp[T, C] @ dequant(weight).T + bias; weight = OC rows of row_size(t, C) bytes"""
        T, C = inp.shape
        rs = self.row_size(t, C)
        w = np.frombuffer(bytes(weight), dtype=np.uint8)
        assert w.size == OC * rs, f"weight has {w.size} bytes, expected {OC} x {rs}"
        w = w.copy()
        out = _nan((T, OC))
        self._q("ck_matmul_forward_qp")(int(path), type_id(t), _ptr(out, "out"), _ptr(inp, "inp"), w.ctypes.data,
                                        _ptr(bias, "bias", (OC,), optional=True), T, C, OC)
        return out

    def matmul_backward_q(self, t, dinp, dout, weight, scalar=False):
        """dinp[T, C] += dout[T, OC] @ dequant(weight) (in place; ck_matmul_backward_q or its _scalar
        path); weight = OC rows of row_size(t, C) bytes. The scratch, [min(OC, MATMUL_BQ_ROWS), C] as
        ckernel.h documents it, is followed by a guard that must stay untouched."""
        T, C = dinp.shape
        OC = dout.shape[1]
        rs = self.row_size(t, C)
        w = np.frombuffer(bytes(weight), dtype=np.uint8).copy()
        assert w.size == OC * rs, f"weight has {w.size} bytes, expected {OC} x {rs}"
        n = min(OC, MATMUL_BQ_ROWS) * C
        scratch = np.full(n + GUARD, np.nan, dtype=np.float32)
        fn = "ck_matmul_backward_q_scalar" if scalar else "ck_matmul_backward_q"
        self._q(fn)(type_id(t), _ptr(dinp, "dinp", writable=True), _ptr(dout, "dout", (T, OC)), w.ctypes.data, T, C, OC,
                    scratch.ctypes.data)
        assert np.all(np.isnan(scratch[n:])), f"{fn}({t}, C={C}, OC={OC}) wrote past its scratch of {n} floats"

    def matmul_forward_q(self, t, inp, weight, bias, OC):
        T, C = inp.shape
        rs = self.row_size(t, C)
        w = np.frombuffer(bytes(weight), dtype=np.uint8).copy()
        assert w.size == OC * rs
        out = _nan((T, OC))
        self._q("ck_matmul_forward_q")(type_id(t), _ptr(out, "out"), _ptr(inp, "inp"), w.ctypes.data,
                                       _ptr(bias, "bias", (OC,), optional=True), T, C, OC)
        return out
