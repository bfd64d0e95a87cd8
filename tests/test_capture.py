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
