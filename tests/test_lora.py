"""LoRA adapters (GGUF, as llama.cpp reads them): the kernel against PyTorch, the writer's file,
`run --lora` against a PyTorch reference that uses W + scale * B @ A, `ck lora-merge` against
run-time application, a quantized base, and hostile adapters refused with the tensor named.

The adapters are written by the project's writer (ck_lora_write_file through ctypes); the hostile
ones are that file rewritten by oracle/gguf.py with one thing wrong. Programs are built as in
test_models.py (run.c + the generated header against a precompiled ckernel.h)."""
import ctypes
import os
import subprocess

import numpy as np
import pytest
import torch

from oracle import gguf as G
from oracle import models as OM
from oracle.ckernel import library_path
from test_models import COMMON, FAMILIES, TOL, Toolchain, diff, must, prompt, run_logits, sh

RANKS = (4, 3, 8)   # cycled over the adapted weights: ranks may differ per weight
ALPHA = 16.0
SCALE = 0.7         # --lora-scale; applied: SCALE * ALPHA / rank


# ============================================================================ the writer, through ctypes
class LoraTensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("rank", ctypes.c_int), ("n_in", ctypes.c_int64), ("n_out", ctypes.c_int64),
                ("a", ctypes.c_void_p), ("b", ctypes.c_void_p)]


def lib(build="simd"):
    L = ctypes.CDLL(library_path(build))
    L.ck_lora_write_file.restype = ctypes.c_int
    L.ck_lora_write_file.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_float, ctypes.c_void_p, ctypes.c_int,
                                     ctypes.c_char_p, ctypes.c_size_t]
    for fn in ("ck_lora_forward", "ck_lora_forward_scalar"):
        getattr(L, fn).restype = None
        getattr(L, fn).argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_float] + [ctypes.c_int] * 4
    for fn in ("ck_lora_backward", "ck_lora_backward_scalar"):
        getattr(L, fn).restype = None
        getattr(L, fn).argtypes = [ctypes.c_void_p] * 9 + [ctypes.c_float] + [ctypes.c_int] * 4
    return L


def write_adapter(path, arch, mats, alpha=ALPHA):
    """mats: {base name: (A [rank, in], B [out, rank])} -> path, by ck_lora_write_file"""
    keep = [(n, np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32)) for n, (a, b) in mats.items()]
    arr = (LoraTensor * max(1, len(keep)))()
    for i, (n, a, b) in enumerate(keep):
        arr[i] = LoraTensor(n.encode(), a.shape[0], a.shape[1], b.shape[0], a.ctypes.data, b.ctypes.data)
    err = ctypes.create_string_buffer(512)
    rc = lib().ck_lora_write_file(path.encode(), arch.encode(), alpha, arr, len(keep), err, 512)
    assert rc == 0, err.value.decode()
    return path


def random_adapter(gguf, seed=1):
    """A and B for every matrix a matmul reads (blk.*, output): A ~ N(0, 1/in), B ~ N(0, 0.1/rank):
    the update moves the logits by ~1, far beyond the tolerances (with B ~ N(0, 1/rank) it moves
    them as much as they are large, and float32 differences grow with the model's sensitivity)"""
    g = G.read(gguf)
    rng = np.random.default_rng(seed)
    mats = {}
    for t in g.tensors:
        name = t.name.decode()
        if len(t.ne) != 2 or t.ne[1] == 1 or not (name.startswith("blk.") or name == "output.weight"):
            continue
        rank = RANKS[len(mats) % len(RANKS)]
        n_in, n_out = t.ne
        mats[name] = (rng.normal(0, n_in ** -0.5, (rank, n_in)), rng.normal(0, 0.1 ** 0.5 * rank ** -0.5, (n_out, rank)))
    return mats


def reference(gguf, tokens, mats, scale):
    """PyTorch (float64) logits of the model whose weights are W + scale * alpha / rank * B @ A"""
    m = OM.load(gguf)
    for name, (a, b) in mats.items():
        s = scale * ALPHA / a.shape[0]
        m._w[name] = m.w(name) + s * torch.from_numpy(b.astype(np.float32).astype(np.float64) @ a.astype(np.float32).astype(np.float64))
    return m.forward(tokens).numpy()


@pytest.fixture(scope="module")
def tc(tmp_path_factory):
    return Toolchain(str(tmp_path_factory.mktemp("lora")))


class Case:
    def __init__(self, tc, family, qtype="f32"):
        self.dir = os.path.join(tc.work, f"{family}_{qtype}")
        os.makedirs(self.dir, exist_ok=True)
        self.gguf = tc.mkmodel(os.path.join(self.dir, "model.gguf"), family, qtype)
        r = tc.ckgen(self.gguf, self.dir)
        assert r.returncode == 0, r.stderr
        self.prog = tc.compile(self.dir, "exact" if qtype != "f32" else "fast", exe="run")
        self.mats = random_adapter(self.gguf)
        self.arch = G.read(self.gguf).kv["general.architecture"].value.decode()
        self.adapter = write_adapter(os.path.join(self.dir, "adapter.gguf"), self.arch, self.mats)
        self.tokens = prompt()


_cases = {}


def case(tc, family, qtype="f32"):
    if (family, qtype) not in _cases:
        _cases[(family, qtype)] = Case(tc, family, qtype)
    return _cases[(family, qtype)]


def lora_logits(prog, model, tokens, adapter, scale=SCALE, decode=False):
    out = prog + ".lora.f32"
    r = sh([prog, "-m", model, "--tokens", ",".join(map(str, tokens)), "--decode-logits" if decode else "--logits", out,
            "--lora", adapter, "--lora-scale", repr(scale)])
    assert r.returncode == 0, r.stderr
    return np.fromfile(out, dtype=np.float32).reshape(len(tokens), -1)


# ============================================================================ the kernel
SHAPES = [(1, 7, 9, 1), (5, 64, 33, 3), (33, 96, 40, 16), (2, 256, 256, 8)]   # T, C, OC, rank


@pytest.mark.parametrize("build", ["simd", "scalar"])
@pytest.mark.parametrize("T,C,OC,rank", SHAPES)
def test_lora_kernel_forward_backward(build, T, C, OC, rank):
    """ck_lora_forward (out += scale (x A^T) B^T) and ck_lora_backward (dinp, dA, dB^T accumulated)
    against PyTorch autograd in float64; the _scalar reference too; max abs diff < 1e-5"""
    L = lib(build)
    rng = np.random.default_rng(T * 1000 + C)
    f = lambda *s: np.ascontiguousarray(rng.normal(0, 1, s), np.float32)
    x, a, bt, out0, dout = f(T, C), f(rank, C) / np.sqrt(C), f(rank, OC) / np.sqrt(rank), f(T, OC), f(T, OC)
    scale = 0.37
    xt, at, btt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, a, bt))
    ref = torch.tensor(out0, dtype=torch.float64) + scale * (xt @ at.T) @ btt
    ref.backward(torch.tensor(dout, dtype=torch.float64))
    p = lambda v: v.ctypes.data
    for suffix in ("", "_scalar"):
        out, scratch, dscratch = out0.copy(), np.full((T, rank), np.nan, np.float32), np.full((T, rank), np.nan, np.float32)
        getattr(L, "ck_lora_forward" + suffix)(p(out), p(scratch), p(x), p(a), p(bt), scale, T, C, OC, rank)
        d = float(np.max(np.abs(out - ref.detach().numpy())))
        assert d < 1e-5, f"forward{suffix} {T}x{C}x{OC} rank {rank}: {d:.3e}"
        dx, da, dbt = np.ones_like(x), np.ones_like(a), np.ones_like(bt)   # backward accumulates onto 1
        getattr(L, "ck_lora_backward" + suffix)(p(dx), p(da), p(dbt), p(scratch), p(dscratch), p(dout), p(x), p(a), p(bt), scale,
                                                T, C, OC, rank)
        for got, t, what in ((dx, xt, "dinp"), (da, at, "da"), (dbt, btt, "dbt")):
            d = float(np.max(np.abs(got - 1.0 - t.grad.numpy())))
            assert d < 1e-5, f"backward{suffix} {what} {T}x{C}x{OC} rank {rank}: {d:.3e}"


def test_lora_kernel_rows_one_at_a_time_are_the_same_bits():
    """decode (T = 1, the AVX2 row path) and prefill (T = 8, the blocked GEMM) give the same bits per row"""
    L = lib("simd")
    rng = np.random.default_rng(9)
    T, C, OC, rank = 8, 72, 100, 5
    x, a, bt = (np.ascontiguousarray(rng.normal(0, 1, s), np.float32) for s in ((T, C), (rank, C), (rank, OC)))
    out0 = np.ascontiguousarray(rng.normal(0, 1, (T, OC)), np.float32)
    scratch = np.zeros((T, rank), np.float32)
    p = lambda v: v.ctypes.data
    whole, rows = out0.copy(), out0.copy()
    L.ck_lora_forward(p(whole), p(scratch), p(x), p(a), p(bt), 0.3, T, C, OC, rank)
    for t in range(T):
        L.ck_lora_forward(rows[t:].ctypes.data, p(scratch), x[t:].ctypes.data, p(a), p(bt), 0.3, 1, C, OC, rank)
    assert np.array_equal(whole, rows), f"max diff {np.max(np.abs(whole - rows)):.3e}"


# ============================================================================ the file
def test_writer_writes_llama_cpp_layout(tmp_path):
    """keys and types; lora_a ne = [in, rank] holding A, lora_b ne = [rank, out] holding B, f32, exact"""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(3, 10)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    path = write_adapter(str(tmp_path / "a.gguf"), "llama", {"blk.0.attn_q.weight": (a, b)}, alpha=8.0)
    g = G.read(path)
    assert g.kv["general.type"].value == b"adapter" and g.kv["general.type"].type == G.STR
    assert g.kv["adapter.type"].value == b"lora"
    assert g.kv["general.architecture"].value == b"llama"
    assert g.kv["adapter.lora.alpha"].type == G.F32 and g.kv["adapter.lora.alpha"].value == 8.0
    ta, tb = g.tensor("blk.0.attn_q.weight.lora_a"), g.tensor("blk.0.attn_q.weight.lora_b")
    assert tuple(ta.ne) == (10, 3) and tuple(tb.ne) == (3, 6) and ta.type == 0 and tb.type == 0
    assert np.array_equal(g.array("blk.0.attn_q.weight.lora_a"), a) and np.array_equal(g.array("blk.0.attn_q.weight.lora_b"), b)


# ============================================================================ run --lora
@pytest.mark.parametrize("family", ["llama", "gpt2", "qwen2", "phi3"])
def test_run_lora_matches_reference(tc, family):
    """prefill and decode logits with the adapter == PyTorch on W + scale*B@A (max abs diff < 1e-4,
    test_models' F32 tolerance); the adapter moves the logits by far more (so a skipped hook fails)"""
    c = case(tc, family)
    ref = reference(c.gguf, c.tokens, c.mats, SCALE)
    base = OM.load(c.gguf).forward(c.tokens).numpy()
    moved = diff(ref, base)
    assert moved > 100 * TOL, f"the adapter moves the logits by only {moved:.3e}"
    for decode in (False, True):
        got = lora_logits(c.prog, c.gguf, c.tokens, c.adapter, decode=decode)
        d = diff(got, ref)
        print(f"{family} run --lora {'decode' if decode else 'prefill'}: max abs diff {d:.3e} (adapter moves logits by {moved:.2f}; "
              f"max|logit| {np.max(np.abs(ref)):.2f}; base without adapter vs oracle {diff(run_logits(c.prog, c.gguf, c.tokens), base):.3e})")
        assert d < TOL, f"{family}: logits with --lora differ from the reference by {d:.3e}"
    plain = run_logits(c.prog, c.gguf, c.tokens)   # without --lora: the base model
    assert diff(plain, base) < TOL


def test_lora_scale_zero_is_the_base(tc):
    """--lora-scale 0: the base model's logits bit for bit (the update is added as exact zeros)"""
    c = case(tc, "llama")
    assert np.array_equal(lora_logits(c.prog, c.gguf, c.tokens, c.adapter, scale=0.0), run_logits(c.prog, c.gguf, c.tokens))


def test_quantized_base(tc):
    """Q8_0 base: the base matmul stays quantized, the update is added; with the exact matmul path
    the logits equal PyTorch on dequantized W + scale*B@A (< 1e-4, test_models' exact-path tolerance)"""
    c = case(tc, "llama", "q8_0")
    ref = reference(c.gguf, c.tokens, c.mats, SCALE)
    for decode in (False, True):
        d = diff(lora_logits(c.prog, c.gguf, c.tokens, c.adapter, decode=decode), ref)
        print(f"llama q8_0 --lora {'decode' if decode else 'prefill'} (exact path): max abs diff {d:.3e}")
        assert d < TOL


def _round(x, dtype):
    t = torch.from_numpy(np.array(x, np.float32)).to(dtype)
    return t, t.to(torch.float32).numpy()


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_half_precision_adapter(tc, dtype):
    """lora_a/lora_b stored as f16 or bf16 (as convert_lora_to_gguf.py can write them): widened to
    f32 at load, exactly; logits == PyTorch with the rounded A and B (< 1e-4)"""
    c = case(tc, "llama")
    tdt, tid = (torch.float16, 1) if dtype == "f16" else (torch.bfloat16, 30)
    rounded = {}

    def half(t):
        x = np.frombuffer(t[3], np.float32).reshape(t[1][1], t[1][0])
        h, back = _round(x, tdt)
        base, ab = t[0][:-7], t[0][-1]
        rounded.setdefault(base, {})[ab] = back
        return (t[0], t[1], tid, h.view(torch.int16).numpy().tobytes())
    path = _rewrite(c.adapter, os.path.join(c.dir, f"adapter_{dtype}.gguf"), replace=half)
    mats = {n: (v["a"], v["b"]) for n, v in rounded.items()}
    assert G.read(path).tensor(Q + ".lora_a").type == tid
    d = diff(lora_logits(c.prog, c.gguf, c.tokens, path), reference(c.gguf, c.tokens, mats, SCALE))
    print(f"llama, {dtype} adapter: max abs diff {d:.3e}")
    assert d < TOL


# ============================================================================ lora-merge
def test_merge_equals_run_time(tc):
    """`ck lora-merge` (F32 base): every adapted tensor is W + scale*B@A in f32, everything else byte
    for byte; the merged model's logits equal `run --lora`'s within 1e-4 (the same sums in another
    order: W x + s (x A^T) B^T against (W + s B A) x, f32 roundings of ~1e-6 relative per layer)"""
    c = case(tc, "llama")
    merged = os.path.join(c.dir, "merged.gguf")
    must([tc.ck, "lora-merge", c.gguf, c.adapter, "-o", merged, "--lora-scale", repr(SCALE), "-q"])
    gb, gm = G.read(c.gguf), G.read(merged)
    assert list(gb.kv.items()) == list(gm.kv.items())
    for t in gb.tensors:
        tm = gm.tensor(t.name)
        assert tm.type == t.type and tuple(tm.ne) == tuple(t.ne)
        if t.name.decode() not in c.mats:
            assert bytes(tm.data) == bytes(t.data), t.name
    runtime = lora_logits(c.prog, c.gguf, c.tokens, c.adapter)
    got = run_logits(c.prog, merged, c.tokens)   # same layout: the same program reads it
    ref = reference(c.gguf, c.tokens, c.mats, SCALE)
    d, dr = diff(got, runtime), diff(got, ref)
    print(f"llama f32: merged vs run-time adapter: max abs diff {d:.3e}; merged vs float64 reference {dr:.3e} "
          f"(max|logit| {np.max(np.abs(ref)):.2f})")
    assert dr < TOL and d < TOL


def test_merge_quantized_base_writes_f32(tc):
    """a Q8_0 base: the merged weights are written as f32 (the others stay q8_0, byte for byte); its
    logits on the exact path equal run-time application's on the exact path (< 1e-4)"""
    c = case(tc, "llama", "q8_0")
    merged_dir = os.path.join(c.dir, "merged")
    os.makedirs(merged_dir, exist_ok=True)
    merged = os.path.join(merged_dir, "merged.gguf")
    must([tc.ck, "lora-merge", c.gguf, c.adapter, "-o", merged, "--lora-scale", repr(SCALE), "-q"])
    gm = G.read(merged)
    for t in gm.tensors:
        name = t.name.decode()
        if name in c.mats:
            assert t.type == 0, f"{name}: merged weight is type {t.type}, not f32"
        elif name.endswith("weight") and len(t.ne) == 2:
            assert t.type == 8 and bytes(t.data) == bytes(G.read(c.gguf).tensor(name).data)
    assert tc.ckgen(merged, merged_dir).returncode == 0
    prog = tc.compile(merged_dir, "exact", exe="run")
    d = diff(run_logits(prog, merged, c.tokens), lora_logits(c.prog, c.gguf, c.tokens, c.adapter))
    print(f"llama q8_0 merged (f32 merged weights) vs run-time adapter (exact path): max abs diff {d:.3e}")
    assert d < TOL


@pytest.mark.parametrize("qtype", ["f16", "bf16"])
def test_merge_keeps_half_types(tc, qtype):
    """an F16 / BF16 base: the merged weights stay in that type and are exactly W + scale*B@A computed
    as the merge computes it (f32, r = 0..rank-1 in order, then rounded to nearest even), bit for bit"""
    d = os.path.join(tc.work, f"merge_{qtype}")
    os.makedirs(d, exist_ok=True)
    base = tc.mkmodel(os.path.join(d, "model.gguf"), "llama", qtype)
    mats = random_adapter(base, seed=5)
    adapter = write_adapter(os.path.join(d, "adapter.gguf"), "llama", mats)
    merged = os.path.join(d, "merged.gguf")
    must([tc.ck, "lora-merge", base, adapter, "-o", merged, "-q"])
    gb, gm = G.read(base), G.read(merged)
    tdt = torch.float16 if qtype == "f16" else torch.bfloat16
    for t in gm.tensors:
        name = t.name.decode()
        tb = gb.tensor(name)
        assert t.type == tb.type, name
        if name not in mats:
            assert bytes(t.data) == bytes(tb.data), name
            continue
        a, b = (x.astype(np.float32) for x in mats[name])
        scale = np.float32(np.float32(1.0) * np.float32(ALPHA)) / np.float32(a.shape[0])
        w = gb.array(name).astype(np.float32)
        for r in range(a.shape[0]):
            w = w + (scale * b[:, r:r + 1]).astype(np.float32) * a[r][None, :]
        want = torch.from_numpy(w).to(tdt).view(torch.int16).numpy().tobytes()
        assert bytes(t.data) == want, f"{name}: merged {qtype} bytes differ"


# ============================================================================ hostile adapters
def _rewrite(src, dst, drop=(), replace=None, kv=None, drop_kv=()):
    g = G.read(src)
    kvs = {k: v for k, v in g.kv.items() if k not in drop_kv}
    kvs.update(kv or {})
    ts = []
    for t in g.tensors:
        name = t.name.decode()
        if name in drop:
            continue
        item = (name, tuple(t.ne), t.type, bytes(t.data))
        ts.append(replace(item) if replace else item)
    G.write(dst, kvs, [x for x in ts if x is not None])
    return dst


Q = "blk.0.attn_q.weight"
HOSTILE = {
    "missing_b": (dict(drop=[Q + ".lora_b"]), Q + ".lora_a has no " + Q + ".lora_b"),
    "missing_a": (dict(drop=[Q + ".lora_a"]), Q + ".lora_b has no " + Q + ".lora_a"),
    "wrong_shape": (dict(replace=lambda t: G.f32_tensor(t[0], np.zeros((t[1][1], t[1][0] - 2))) if t[0] == Q + ".lora_a" else t),
                    Q + ".lora_a/.lora_b: the adapter's update is [in 254, out 256]"),
    "rank_mismatch": (dict(replace=lambda t: G.f32_tensor(t[0], np.zeros((t[1][1] + 1, t[1][0]))) if t[0] == Q + ".lora_a" else t),
                      Q + ".lora_a has rank "),
    "unknown_base": (dict(replace=lambda t: (t[0].replace("blk.0.", "blk.9."),) + t[1:] if t[0].startswith(Q) else t),
                     "the model has no weight blk.9.attn_q.weight"),
    "general_type": (dict(kv={"general.type": G.value("model")}), 'key general.type is "model", not "adapter"'),
    "no_general_type": (dict(drop_kv=["general.type"]), "key general.type is missing"),
    "adapter_type": (dict(kv={"adapter.type": G.value("ia3")}), 'key adapter.type is "ia3"'),
    "alpha_type": (dict(kv={"adapter.lora.alpha": G.value(16)}), "key adapter.lora.alpha is i32, not f32"),
    "no_alpha": (dict(drop_kv=["adapter.lora.alpha"]), "key adapter.lora.alpha is missing"),
    "arch": (dict(kv={"general.architecture": G.value("gpt2")}), 'key general.architecture is "gpt2", not "llama"'),
    "q8_0_matrix": (dict(replace=lambda t: (t[0], t[1], 8, bytes(34 * t[1][1] * t[1][0] // 32)) if t[0] == Q + ".lora_a" else t),
                    Q + ".lora_a is q8_0"),
    "odd_suffix": (dict(replace=lambda t: (t[0].replace(".lora_a", ".lora_x"),) + t[1:] if t[0] == Q + ".lora_a" else t),
                   Q + ".lora_x: not a LoRA tensor"),
    "token_embd": (dict(replace=lambda t: ("token_embd.weight" + t[0][len(Q):],) + t[1:] if t[0].startswith(Q) else t),
                   "token_embd.weight.lora_a: adapters of the token embedding are not supported"),
    "nan": (dict(replace=lambda t: G.f32_tensor(t[0], np.full((t[1][1], t[1][0]), np.nan)) if t[0] == Q + ".lora_b" else t),
            Q + ".lora_b holds NaN or Inf"),
}


@pytest.mark.parametrize("what", list(HOSTILE))
def test_hostile_adapter_is_refused(tc, what):
    """exit status 1 and a message naming the tensor (or key) and what is wrong; never a crash"""
    c = case(tc, "llama")
    opts, says = HOSTILE[what]
    bad = _rewrite(c.adapter, os.path.join(c.dir, f"hostile_{what}.gguf"), **opts)
    r = sh([c.prog, "-m", c.gguf, "--tokens", "1,2,3", "--logits", os.path.join(c.dir, "x.f32"), "--lora", bad])
    assert r.returncode == 1, f"{what}: exit {r.returncode}\n{r.stderr}"
    assert says in r.stderr and bad in r.stderr, f"{what}: {r.stderr!r} does not say {says!r}"
    if what != "nan":   # lora-merge checks values when it writes them (its own message)
        r = sh([tc.ck, "lora-merge", c.gguf, bad, "-o", os.path.join(c.dir, "never.gguf"), "-q"])
        assert r.returncode == 1 and says in r.stderr, f"lora-merge {what}: {r.returncode} {r.stderr!r}"
        assert not os.path.exists(os.path.join(c.dir, "never.gguf"))


def test_non_adapter_gguf_is_refused(tc):
    """the model itself given as an adapter: refused naming the key"""
    c = case(tc, "llama")
    r = sh([c.prog, "-m", c.gguf, "--tokens", "1,2", "--logits", os.path.join(c.dir, "x.f32"), "--lora", c.gguf])
    assert r.returncode == 1 and "key general.type is" in r.stderr, r.stderr


def test_lora_options_are_checked(tc):
    c = case(tc, "llama")
    for args, says in ((["--lora-scale", "1"], "--lora-scale needs --lora"), (["--lora", c.adapter, "--lora-scale", "nan"], "finite"),
                       (["--lora", os.path.join(c.dir, "absent.gguf")], "absent.gguf")):
        r = sh([c.prog, "-m", c.gguf, "--tokens", "1,2", "--logits", os.path.join(c.dir, "x.f32")] + args)
        assert r.returncode in (1, 2) and says in r.stderr, (args, r.returncode, r.stderr)


def test_ck_run_lora(tc, tmp_path):
    """`ck run MODEL --lora FILE --lora-scale S`: the cached program takes the adapter (ck's own
    program, one translation unit) and gives the run program's logits within 1e-5"""
    c = case(tc, "llama")
    out = str(tmp_path / "ck.f32")
    r = sh([tc.ck, "run", c.gguf, "--tokens", ",".join(map(str, c.tokens)), "--logits", out, "--lora", c.adapter,
            "--lora-scale", repr(SCALE)], timeout=600)
    assert r.returncode == 0, r.stderr
    got = np.fromfile(out, dtype=np.float32).reshape(len(c.tokens), -1)
    d = diff(got, lora_logits(c.prog, c.gguf, c.tokens, c.adapter).astype(np.float64))
    assert d < 1e-5, d
