"""Activation capture (run --dump, --logit-lens) and `ck check` (the first op that differs from the
PyTorch reference).

The dumps are checked against what the program itself computes (the foot's last op is the
--logits output; the residual stream is what the next layer reads), the index against the op
table, the options' refusals by their messages. `ck check` must say "agree" on a correct tiny
model of every family (mkmodel, as tests/test_models.py makes them) and name the right op when
one weight is corrupted: a GGUF rewritten with one layer's ffn_down scaled must first diverge at
that layer's down matmul, not before it.
"""
import json
import os
import re
import shlex

import numpy as np
import pytest

from oracle import gguf as G
from oracle import models as OM
from test_models import COMMON, FAMILIES, Toolchain, must, sh

N_PROMPT = 7
# ck check compiles its program as `ck run` does, with CK_CFLAGS: -O0 here (3 s a build instead of 9;
# the numbers are the same C either way, and this file checks capture, not the optimiser)
CHECK_ENV = {"CK_CFLAGS": " ".join(["-O0"] + shlex.split(os.environ.get("CK_TEST_ARCH", "-march=native")) +
                                   shlex.split(os.environ.get("CK_TEST_OPENMP", "-fopenmp")))}


@pytest.fixture(scope="module")
def tc(tmp_path_factory):
    return Toolchain(str(tmp_path_factory.mktemp("capture")))


def model(tc, family, qtype="f32", max_prompt=None):
    """(gguf, program): a tiny model and its run program (prefill in chunks of max_prompt)"""
    d = os.path.join(tc.work, f"{family}_{qtype}_{max_prompt}")
    if (family, qtype, max_prompt) not in tc.models:
        os.makedirs(d, exist_ok=True)
        gguf = tc.mkmodel(os.path.join(d, "model.gguf"), family, qtype)
        r = tc.ckgen(gguf, d, extra=["--max-prompt", str(max_prompt)] if max_prompt else [])
        assert r.returncode == 0, r.stderr
        tc.models[(family, qtype, max_prompt)] = (gguf, tc.compile(d, "fast"))
    return tc.models[(family, qtype, max_prompt)]


def tokens(n=N_PROMPT):
    return [int(t) for t in np.random.default_rng(3).integers(0, 256, size=n)]


def dump(prog, gguf, out, *extra, toks=None):
    toks = toks or tokens()
    return sh([prog, "-m", gguf, "--tokens", ",".join(map(str, toks)), "--dump", out] + list(extra))


def ops_of(header):
    """the op table the generated header holds: [(op, out, section)]"""
    text = open(header).read()
    body = text[text.index("_ops["):text.index("};", text.index("_ops["))]
    return [(a, b, int(s)) for a, b, s in re.findall(r'\{ "(\w+)", "(\w+)", "[^"]*", "[^"]*", "[^"]*", (\d), \d+ \}', body)]


def test_dump_is_what_the_program_computes(tc):
    """llama, prefill in chunks of 3 (so later chunks land at their offsets): the foot's matmul is the
    --logits output bit for bit; each layer's first rmsnorm reads the residual stream the layer
    before wrote (recomputed here from the dumps); the index lists every op but views for every
    layer, with the files' shapes"""
    gguf, prog = model(tc, "llama", max_prompt=3)
    out, logits = os.path.join(tc.work, "dump_llama"), os.path.join(tc.work, "dump_llama.f32")
    r = dump(prog, gguf, out, "--logits", logits)
    assert r.returncode == 0, r.stderr
    index = json.load(open(os.path.join(out, "index.json")))
    assert index["tokens"] == tokens() and index["n_layer"] == 2
    table = ops_of(os.path.join(os.path.dirname(prog), "m.h"))
    want = [(op, o, -1) for op, o, s in table if s == 0]
    want += [(op, o, l) for l in range(2) for op, o, s in table if s == 1 and op != "view"]
    want += [(op, o, -1) for op, o, s in table if s == 2]
    got = [(e["op"], e["out"], e["layer"]) for e in index["entries"]]
    assert got == want, f"index: {got} != {want}"
    arrays = {}
    for e in index["entries"]:
        a = np.load(os.path.join(out, e["file"]))
        assert a.dtype == np.float32 and list(a.shape) == e["shape"] and e["shape"][0] == N_PROMPT, e
        arrays[(e["layer"], e["op"], e["out"], sum(1 for k in arrays if k[:3] == (e["layer"], e["op"], e["out"])))] = a
    last = np.load(os.path.join(out, index["entries"][-1]["file"]))
    assert np.array_equal(last, np.fromfile(logits, dtype=np.float32).reshape(N_PROMPT, -1))
    # layer 1's attn_norm input is layer 0's output (the second add): rmsnorm by hand, f32 weights
    g = G.read(gguf)
    w = g.array("blk.1.attn_norm.weight").astype(np.float64)
    eps = float(g.kv["llama.attention.layer_norm_rms_epsilon"].value) if "llama.attention.layer_norm_rms_epsilon" in g.kv else 1e-5
    x = arrays[(0, "add", "x", 1)].astype(np.float64)   # layer 0's second add: its output
    h = x / np.sqrt((x * x).mean(1, keepdims=True) + eps) * w
    assert np.max(np.abs(h - arrays[(1, "rmsnorm", "h", 0)])) < 1e-5


def test_dump_selection(tc):
    """--dump-ops and --dump-layers select (op kind, layer); the head's and foot's ops by kind"""
    gguf, prog = model(tc, "llama", max_prompt=3)
    out = os.path.join(tc.work, "dump_sel")
    r = dump(prog, gguf, out, "--dump-ops", "matmul,attention", "--dump-layers", "1")
    assert r.returncode == 0, r.stderr
    entries = json.load(open(os.path.join(out, "index.json")))["entries"]
    got = [(e["op"], e["out"], e["layer"]) for e in entries]
    assert got == [("matmul", o, 1) for o in ("q", "k", "v")] + [("attention", "att", 1), ("matmul", "o", 1), ("matmul", "gate", 1),
                                                                 ("matmul", "up", 1), ("matmul", "down", 1), ("matmul", "logits", -1)]
    assert sorted(os.listdir(out)) == sorted([e["file"] for e in entries] + ["index.json"])


@pytest.mark.parametrize("args,says", [
    (["--dump-ops", "rmsnorm,fft"], "run: --dump-ops: 'fft' is not an op of this model (its ops: embedding,rmsnorm,matmul,rope,attention,add,swiglu)"),
    (["--dump-ops", "view"], "run: --dump-ops: 'view' is not an op of this model"),
    (["--dump-layers", "0,2"], "run: --dump-layers: layer 2 is out of range (the model has 2 layers: 0..1)"),
    (["--dump-layers", "x"], "run: --dump-layers: 'x' is not a layer number"),
    (["--dump-layers", "1,,0"], "run: --dump-layers: '' is not a layer number"),
    (["--dump-ops", ""], "run: --dump-ops '': needs a comma-separated list"),
    (["-n", "3"], "run: -n does not apply with --dump (it runs the prompt and generates nothing)"),
])
def test_dump_options_refused(tc, args, says):
    gguf, prog = model(tc, "llama", max_prompt=3)
    out = os.path.join(tc.work, "refused")
    r = dump(prog, gguf, out, *args)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not os.path.exists(out), "a refused --dump created its directory"


def test_dump_dir_not_writable_is_refused_before_the_run(tc, tmp_path):
    gguf, prog = model(tc, "llama", max_prompt=3)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for d, says in ((str(blocker / "sub"), "cannot create it"), (str(blocker), "cannot write in it")):
        r = dump(prog, gguf, d)
        assert r.returncode == 2 and f"run: --dump {d}: {says}" in r.stderr, r.stderr
    r = sh([prog, "-m", gguf, "--tokens", "1,2", "--dump-layers", "0"])
    assert r.returncode == 2 and "run: --dump-layers needs --dump DIR" in r.stderr
    r = sh([prog, "-m", gguf, "--tokens", "1,2", "--dump", str(tmp_path / "d"), "--decode-logits", str(tmp_path / "l")])
    assert r.returncode == 2 and "run: --dump captures the prefill: it does not apply with --decode-logits" in r.stderr


def test_logit_lens(tc):
    """per layer, the top tokens of the residual stream through the foot: the last layer's are the
    model's own top tokens at the last position (with their probabilities), the oracle's at every
    layer (its residual after layer l through its final norm and output matrix)"""
    gguf, prog = model(tc, "llama", max_prompt=3)
    logits = os.path.join(tc.work, "lens.f32")
    toks = tokens()
    r = must([prog, "-m", gguf, "--tokens", ",".join(map(str, toks)), "--logit-lens", "--logits", logits])
    rows = re.findall(r"^layer +(\d+): (.*)$", r.stdout, re.M)
    assert [int(l) for l, _ in rows] == [0, 1], r.stdout
    last = np.fromfile(logits, dtype=np.float32).reshape(len(toks), -1)[-1].astype(np.float64)
    m = OM.load(gguf)
    m.capture = []
    m.forward(toks)
    resid = [t.numpy()[-1] for l, op, out, t in m.capture if l in (0, 1) and op == "add"][1::2]
    g = G.read(gguf)
    for (l, text), x in zip(rows, resid):
        pairs = [p.split() for p in text.split(", ")]
        ids, probs = [int(p[0]) for p in pairs], [float(p[-1]) for p in pairs]
        ref = OM.rms_norm(OM.torch.from_numpy(x), OM.torch.from_numpy(g.array("output_norm.weight").astype(np.float64)), 1e-5)
        ref = (ref @ OM.torch.from_numpy(g.array("output.weight").astype(np.float64)).T).numpy()
        p = np.exp(ref - ref.max())
        p /= p.sum()
        assert ids == list(np.argsort(-ref, kind="stable")[:5]), f"layer {l}: {ids}"
        assert np.allclose(probs, p[ids], atol=1e-4), f"layer {l}: {probs} vs {p[ids]}"
    assert ids == list(np.argsort(-last, kind="stable")[:5])


@pytest.mark.parametrize("family,qtype", [(f, "f32") for f in FAMILIES] + [("gemma3", "q4_k_m")])
def test_check_agrees_on_a_correct_model(tc, family, qtype):
    """`ck check` on a tiny correct model of each family (and a quantized one, where the reference
    emulates ggml's activation rounding): every op the program ran agrees"""
    d = os.path.join(tc.work, f"check_{family}_{qtype}")
    os.makedirs(d, exist_ok=True)
    gguf = tc.mkmodel(os.path.join(d, "model.gguf"), family, qtype)
    r = sh([tc.ck, "check", gguf], env=CHECK_ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"^all (\d+) ops agree to (\S+) ", r.stdout, re.M)
    assert m, r.stdout
    assert "not compared" not in r.stdout, r.stdout
    n_layer = int(FAMILIES[family][FAMILIES[family].index("--layers") + 1])
    print(f"{family} {qtype}: {m.group(0)}")
    assert int(m.group(1)) > 10 * n_layer


def test_check_names_the_corrupted_op(tc):
    """layer 1's ffn_down scaled by 3 (an f32 GGUF rewritten): `ck check BAD --reference GOOD` (the
    program runs the rewritten file, the reference the original) names layer 1's down matmul, every
    op before it agreeing; without --reference both read the same weights and agree"""
    d = os.path.join(tc.work, "check_corrupt")
    os.makedirs(d, exist_ok=True)
    src = tc.mkmodel(os.path.join(d, "good.gguf"), "llama", "f32")
    g = G.read(src)
    tensors = []
    for t in g.tensors:
        name = t.name.decode()
        data = bytes(t.data)
        if name == "blk.1.ffn_down.weight":
            data = (np.frombuffer(data, dtype=np.float32) * 3).astype(np.float32).tobytes()
        tensors.append((name, t.ne, t.type, data))
    bad = os.path.join(d, "bad.gguf")
    G.write(bad, g.kv.copy(), tensors, version=g.version, alignment=g.alignment)
    r = sh([tc.ck, "check", bad], env=CHECK_ENV)
    assert r.returncode == 0 and "ops agree" in r.stdout, r.stdout + r.stderr
    r = sh([tc.ck, "check", bad, "--reference", src, "--keep", os.path.join(d, "dump")], env=CHECK_ENV)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "first divergence: layer 1, OP(matmul, down, mlp, w_down, _) (op matmul, tensor down), first at position 0" in r.stdout, r.stdout
    print(r.stdout)


@pytest.mark.parametrize("args,says", [
    (["--tol", "-1"], "ck check: --tol -1: must be a number > 0"),
    (["--bogus"], "ck check: unknown option '--bogus'"),
    (["--keep"], "ck check: --keep needs a value"),
])
def test_check_options_refused(tc, args, says):
    r = sh([tc.ck, "check", "model.gguf"] + args)
    assert r.returncode == 2 and says in r.stderr, r.stderr


# ---------------------------------------------------------------------------- --dump-attn
# (family, chosen heads): llama GQA (4 heads over 2 kv heads: head 3 reads kv head 1), gemma2 soft-cap
# 2 and window 4 < the prompt on the even layers (0 and 2 slide, 1 does not), gpt2 (fused qkv: the
# queries are a column view of the matmul's output)
ATTN_CASES = {"llama": "0:3,1:0", "gemma2": "0:5,1:2,2:7", "gpt2": "1:2,0:0",
              # and: phi3's queries are a column view that rope rotates in place (window 6 on every layer),
              # qwen3's head_dim 64 != n_embd / n_head with q/k norms, gemma3's local and global layers
              "phi3": "1:1", "qwen3": "0:6", "gemma3": "0:2,5:7"}


@pytest.mark.parametrize("family", list(ATTN_CASES))
def test_dump_attn_is_the_reference_softmax(tc, family):
    """run --dump-attn L:H writes softmax(q k^T) of those heads over the prompt as the oracle's
    attention computes it (scale, GQA, causal mask, window, soft-cap); rows sum to 1; masked keys are
    exactly 0. Prefill in chunks of 3 so the queries of later chunks land at their rows."""
    gguf, prog = model(tc, family, max_prompt=3)
    out = os.path.join(tc.work, f"attn_{family}")
    r = dump(prog, gguf, out, "--dump-ops", "attention", "--dump-attn", ATTN_CASES[family])
    assert r.returncode == 0, r.stderr
    index = json.load(open(os.path.join(out, "index.json")))
    pairs = [tuple(map(int, p.split(":"))) for p in ATTN_CASES[family].split(",")]
    assert [(e["layer"], e["head"]) for e in index["attention"]] == pairs
    m = OM.load(gguf)
    m.attn_probs = []
    m.forward(tokens())
    for e, (l, h) in zip(index["attention"], pairs):
        got = np.load(os.path.join(out, e["file"]))
        ref = m.attn_probs[l][h].numpy()
        assert got.dtype == np.float32 and got.shape == (N_PROMPT, N_PROMPT) == tuple(e["shape"])
        # f32 scores (64-term dot products) against the float64 oracle: 1e-5 absolute on probabilities
        assert np.max(np.abs(got - ref)) < 1e-5, f"{family} {l}:{h}: max diff {np.max(np.abs(got - ref))}"
        assert np.all(got[ref == 0] == 0), f"{family} {l}:{h}: a masked key has weight"
        assert np.allclose(got.sum(1), 1, atol=1e-5)
        if family == "gemma2" and l % 2 == 0:
            assert np.all(got[N_PROMPT - 1, :N_PROMPT - 4] == 0)  # window 4 on the even layers
    if family == "gemma2":   # the soft-cap (2) matters: the reference without it is far from the dump
        m2 = OM.load(gguf)
        m2.attn_probs = []
        plain = OM.attention
        OM.attention = lambda q, k, v, scale, window=0, softcap=0.0: plain(q, k, v, scale, window, 0.0)
        try:
            m2.forward(tokens())
        finally:
            OM.attention = plain
        l, h = pairs[0]
        assert np.max(np.abs(np.load(os.path.join(out, index["attention"][0]["file"])) - m2.attn_probs[l][h].numpy())) > 1e-2


@pytest.mark.parametrize("args,says", [
    (["--dump-attn", "2:0"], "run: --dump-attn 2:0: layer 2 is out of range (the model has 2 layers: 0..1)"),
    (["--dump-attn", "0:0,1:4"], "run: --dump-attn 1:4: head 4 is out of range (the model has 4 heads: 0..3)"),
    (["--dump-attn", "1"], "run: --dump-attn: '1' is not LAYER:HEAD (e.g. 0:1)"),
    (["--dump-attn", "0:1:2"], "run: --dump-attn: '0:1:2' is not LAYER:HEAD (e.g. 0:1)"),
])
def test_dump_attn_refused(tc, args, says):
    gguf, prog = model(tc, "llama", max_prompt=3)
    out = os.path.join(tc.work, "attn_refused")
    r = dump(prog, gguf, out, *args)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not os.path.exists(out)
    r = sh([prog, "-m", gguf, "--tokens", "1,2", "--dump-attn", "0:0"])
    assert r.returncode == 2 and "run: --dump-attn needs --dump DIR" in r.stderr, r.stderr


# ---------------------------------------------------------------------------- --profile
def matmul_costs(g, weight, T, calls):
    """a matmul by the GGUF tensor `weight` over T rows in `calls` calls: (FLOPs, bytes) as ck_op_cost
    counts them, from the file's shapes and the tensor's bytes in the file"""
    t = g.tensor(weight)
    k, n = t.ne[0], t.ne[1]
    return 2 * T * k * n, calls * len(bytes(t.data)) + T * (k + n) * 4


def test_profile_counts_and_times(tc):
    """run --profile on a Q4_K_M mix (layer 1's ffn_down and attn_v are Q6_K, layer 0's Q4_K), prefill
    in chunks of 3 (7 tokens: 3 calls, each reading the weights once) and 5 decode steps: every
    matmul's FLOPs and bytes are the formula from the GGUF's shapes and tensor bytes, attention's the
    causal count; times are positive; the peaks are measured"""
    gguf, prog = model(tc, "llama", "q4_k_m", max_prompt=3)
    out = os.path.join(tc.work, "profile.json")
    must([prog, "-m", gguf, "--tokens", ",".join(map(str, tokens())), "--profile", out, "-n", "5"])
    p = json.load(open(out))
    assert p["tokens"] == N_PROMPT and p["decode_tokens"] == 5
    assert p["prefill_seconds"] > 0 and p["decode_seconds"] > 0 and p["peak_gflops"] > 0 and p["peak_gbps"] > 0
    g = G.read(gguf)
    names = {"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}
    types = set()
    n_matmul = 0
    for e in p["ops"]:
        if e["op"] == "matmul" and e["layer"] >= 0:
            w = f"blk.{e['layer']}.{names[e['out']]}.weight"
            types.add(g.tensor(w).type)
            assert (e["flops"], e["bytes"]) == matmul_costs(g, w, N_PROMPT, 3), (w, e)
            assert (e["decode_flops"], e["decode_bytes"]) == tuple(x * 5 for x in matmul_costs(g, w, 1, 1)), (w, e)
            n_matmul += 1
        if e["op"] == "attention":   # 4 heads x 64: 4 H D per (query, key); K, V rows of 2 x 64 f32
            H, D, KV = 4, 64, 2 * 64
            assert e["flops"] == 4 * H * D * sum(p + 1 for p in range(N_PROMPT))
            calls = [(0, 3), (3, 3), (6, 1)]
            assert e["bytes"] == N_PROMPT * (H * D * 2 + 2 * KV) * 4 + N_PROMPT * 2 * KV * 4 + sum((a + n) * 2 * KV * 4 for a, n in calls)
            assert e["decode_flops"] == 4 * H * D * sum(N_PROMPT + i + 1 for i in range(5))
        if e["call"] == e["index"]:   # an op whose call does work took time
            assert e["seconds"] > 0 and e["decode_seconds"] > 0, e
    assert n_matmul == 14 and len(types) >= 2, types   # per-layer weight types differ
    head = [e for e in p["ops"] if e["layer"] == -1 and e["op"] == "matmul"]
    # the foot computes the last row of each of the 3 calls (no --logits): 3 rows, 3 reads of the weights
    assert [(e["flops"], e["bytes"]) for e in head] == [matmul_costs(g, "output.weight", 3, 3)]


def test_profile_decode_steps_must_fit(tc):
    gguf, prog = model(tc, "llama", max_prompt=3)
    r = sh([prog, "-m", gguf, "--tokens", "1,2,3", "--profile", os.path.join(tc.work, "p.json"), "-n", "62"])
    assert r.returncode == 2 and "run: -n 62: the prompt's 3 tokens leave 61 of the 64 positions" in r.stderr, r.stderr
