"""ck perplexity against an independent computation (issue 14, item 3).

The oracle follows llama-perplexity's procedure (examples/perplexity/perplexity.cpp, c392e5094)
on its own: the text's bytes mapped to ids through GPT-2's byte alphabet and the GGUF's vocabulary
(BOS first when the file says add_bos_token), chunks of n_ctx tokens with the first replaced by BOS,
PyTorch logits (oracle/models.py, float64, ggml's activation rounding emulated), -log softmax of
the positions n_ctx/2 .. n_ctx-2 predicting the next token, the running exp(mean), and the error
exp(mean) * sqrt((mean(nll^2) - mean^2) / (count - 1)).

* the demo model (byte-level, no BOS, context 256): the final value and its error equal the
  oracle's to 1e-4 relative, every running estimate to 5e-4 (see REL);
* the same model with add_bos_token = true: the BOS path (the text starts with BOS, each chunk's
  first token replaced);
* -b 1, 37 and the default give the same values;
* bad options and a text shorter than two chunks: exit status 2 and a message naming them.
"""
import os
import re
import subprocess

import numpy as np
import pytest
import torch

from oracle import gguf as G
from oracle import models as OM

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(REPO, "build")
CK = os.path.join(B, "ck")
DEMO = os.path.join(REPO, "examples", "demo", "shakespeare.gguf")
TEXT = os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt")
N_CTX = 256           # the demo model's context
TEXT_BYTES = 4096     # 16 chunks of 256
# -march=native: the program rounds the q8_0 matmuls' activations as ggml's x86 backend does, which
# the oracle emulates (a plain -O1 build, scalar, is 2e-4 away at some chunks); -O1 compiles quickly
CFLAGS = "-O1 " + os.environ.get("CK_TEST_ARCH", "-march=native")
# The final value and its error: 1e-4 relative. A running estimate after k chunks: 5e-4. The program
# and the oracle round the q8_0 matmuls' activations alike, but where float32 noise puts a value on
# a rounding boundary one int8 flips and the later positions' logits move by ~1e-2 of their scale
# (test_models.py, "the fast path is ggml's arithmetic"): averaged over one chunk's 127 tokens that
# is up to ~2.4e-4 (measured: chunk 1 with BOS), over all 16 chunks < 1e-4 (measured <= 5e-5).
REL = 1e-4
REL_RUNNING = 5e-4


def ck(args):
    env = dict(os.environ, CK_CFLAGS=CFLAGS, OMP_NUM_THREADS="1")
    env.pop("CC", None)
    r = subprocess.run([CK] + args, env=env, capture_output=True, timeout=600)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def parse(out):
    """stdout -> (running estimates by chunk, final value, its error)"""
    running = [(int(k), float(v)) for k, v in re.findall(r"\[(\d+)\]([0-9.]+),", out)]
    assert [k for k, _ in running] == list(range(1, len(running) + 1)), out
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", out)
    assert m, out
    return [v for _, v in running], float(m.group(1)), float(m.group(2))


def byte_alphabet():
    """GPT-2's byte -> character table (the byte-level BPE's alphabet)"""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def oracle_tokens(path, text):
    g = G.read(path)
    vocab = {t.decode(): i for i, t in enumerate(g.kv["tokenizer.ggml.tokens"].value)}
    assert g.kv["tokenizer.ggml.model"].value == b"gpt2" and len(g.kv["tokenizer.ggml.merges"].value) == 0
    alphabet = byte_alphabet()
    ids = [vocab[alphabet[b]] for b in text]
    add_bos = "tokenizer.ggml.add_bos_token" in g.kv and bool(g.kv["tokenizer.ggml.add_bos_token"].value)
    bos = int(g.kv["tokenizer.ggml.bos_token_id"].value) if add_bos else None
    return ([bos] if add_bos else []) + ids, bos


def oracle_perplexity(path, text, n_ctx):
    tokens, bos = oracle_tokens(path, text)
    model = OM.load(path, emulate_ggml_acts=True)
    n_chunk, first = len(tokens) // n_ctx, n_ctx // 2
    nll, nll2, count, running = 0.0, 0.0, 0, []
    for c in range(n_chunk):
        chunk = tokens[c * n_ctx:(c + 1) * n_ctx]
        if bos is not None:
            chunk = [bos] + chunk[1:]
        logits = model.forward(chunk).to(torch.float64)
        logp = torch.log_softmax(logits, dim=-1).numpy()
        v = -logp[np.arange(first, n_ctx - 1), chunk[first + 1:n_ctx]]
        nll += float(v.sum())
        nll2 += float((v * v).sum())
        count += len(v)
        running.append(np.exp(nll / count))
    mean, mean2 = nll / count, nll2 / count
    ppl = np.exp(mean)
    return running, ppl, ppl * np.sqrt((mean2 - mean * mean) / (count - 1)), len(tokens)


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    if not os.path.exists(CK) or not os.path.exists(os.path.join(B, "ckgen")):
        pytest.fail("build/ck or build/ckgen is missing: run `make tools`", pytrace=False)
    data = open(TEXT, "rb").read()[:TEXT_BYTES]
    path = tmp_path_factory.mktemp("ppl") / "text.txt"
    path.write_bytes(data)
    return str(path), data


@pytest.fixture(scope="module")
def bos_model(tmp_path_factory):
    """the demo model, adding BOS to a text: id 10, the byte '\n' (the model's separator)"""
    g = G.read(DEMO)
    kv = g.kv.copy()
    kv["tokenizer.ggml.add_bos_token"] = G.Value(G.BOOL, True)
    kv["tokenizer.ggml.bos_token_id"] = G.Value(G.U32, 10)
    path = str(tmp_path_factory.mktemp("bos") / "shakespeare_bos.gguf")
    G.write(path, kv, [(t.name.decode(), t.ne, t.type, t.data) for t in g.tensors])
    return path


def check_against_oracle(model, text):
    path, data = text
    rc, out, err = ck(["perplexity", model, "-f", path, "-c", str(N_CTX)])
    assert rc == 0, err
    running, ppl, unc = parse(out)
    o_running, o_ppl, o_unc, o_tokens = oracle_perplexity(model, data, N_CTX)
    assert f"{o_tokens} tokens" in err, err
    assert len(running) == len(o_running) == o_tokens // N_CTX
    for k, (got, want) in enumerate(zip(running, o_running)):
        assert abs(got - want) <= REL_RUNNING * want + 5e-5, f"chunk {k + 1}: {got} vs oracle {want}"
    assert abs(ppl - o_ppl) <= REL * o_ppl + 5e-5, (ppl, o_ppl)
    # unc = P sqrt((E[nll^2] - E[nll]^2) / (n - 1)): the difference cancels, so per-token NLL noise (an
    # activation flipping its 8-bit rounding, bounded like the chunks above) moves it more than P itself
    assert abs(unc - o_unc) <= REL_RUNNING * o_unc + 5e-6, (unc, o_unc)
    return running, ppl, unc


def test_demo_matches_oracle(text):
    check_against_oracle(DEMO, text)


def test_bos_matches_oracle(text, bos_model):
    _, ppl, _ = check_against_oracle(bos_model, text)
    _, err = ck(["perplexity", bos_model, "-f", text[0], "-c", str(N_CTX)])[1:]
    assert "BOS at the start of each chunk" in err


def test_batch_sizes_agree(text):
    results = []
    for b in ([], ["-b", "1"], ["-b", "37"], ["-b", str(N_CTX)], ["-b", "100000"]):
        rc, out, err = ck(["perplexity", DEMO, "-f", text[0], "-c", "128"] + b)
        assert rc == 0, err
        results.append(parse(out))
    running0, ppl0, unc0 = results[0]
    assert len(running0) == TEXT_BYTES // 128
    for running, ppl, unc in results[1:]:
        assert np.allclose(running, running0, rtol=REL, atol=5e-5) and abs(ppl - ppl0) <= REL * ppl0 + 5e-5
        assert abs(unc - unc0) <= REL * unc0 + 5e-6


@pytest.mark.parametrize("args,message", [
    (["-c", "0"], "-c 0: must be 3 or more"),
    (["-c", "2"], "-c 2: must be 3 or more"),
    (["-c", "12x"], "-c 12x: not a whole number"),
    (["-c", "-5"], "-c -5: not a whole number"),
    (["-c", "99999999999999999999"], "-c 99999999999999999999: must be 3 or more"),
    (["-c", "512"], "-c 512: more than the 256 positions"),
    (["-c", "64", "-c", "64"], "-c given twice"),
    (["-b", "0"], "-b 0: must be 1 or more"),
    (["-b", "1.5"], "-b 1.5: not a whole number"),
    (["-b"], "-b needs a value"),
    (["--chunks", "3"], "unknown option --chunks"),
    (["extra"], "unexpected argument 'extra'"),
    (["-f", "TEXT", "-f", "TEXT"], "-f given twice"),
])
def test_bad_options(text, args, message):
    args = [text[0] if a == "TEXT" else a for a in args]
    full = ["perplexity", DEMO] + (args if "-f" in args else ["-f", text[0]] + args)
    rc, out, err = ck(full)
    assert rc == 2 and message in err, (rc, err)
    assert "Final estimate" not in out


def test_no_text_and_short_text(text, tmp_path):
    rc, _, err = ck(["perplexity", DEMO])
    assert rc == 2 and "no text (-f TEXT)" in err, err
    rc, _, err = ck(["perplexity", DEMO, "-f", str(tmp_path / "missing.txt")])
    assert rc == 1 and "missing.txt" in err, err
    short = tmp_path / "short.txt"
    short.write_bytes(text[1][:511])
    rc, out, err = ck(["perplexity", DEMO, "-f", str(short), "-c", "256"])
    assert rc == 2 and "tokenizes to only 511 tokens; a context of 256 needs at least 512" in err, err
    rc, out, err = ck(["perplexity", DEMO, "-f", str(short), "-c", "255"])  # 2 chunks of 255
    assert rc == 0 and parse(out)[0][-1] > 1.0, err
    rc, _, err = ck(["perplexity", "-f", str(short), DEMO])
    assert rc == 2 and "the model comes first" in err, err


def test_model_without_tokenizer(text, tmp_path):
    """no tokenizer.ggml.*: 256 ids read the text as bytes (as examples/train.c does); other sizes are refused"""
    mkmodel = os.path.join(B, "mkmodel")
    if not os.path.exists(mkmodel):
        pytest.fail("build/mkmodel is missing: run `make build/mkmodel`", pytrace=False)
    paths = {}
    for vocab in (256, 64):
        paths[vocab] = str(tmp_path / f"bytes{vocab}.gguf")
        subprocess.run([mkmodel, "llama", paths[vocab], "--vocab", str(vocab), "--embd", "32", "--layers", "1", "--heads", "2",
                        "--kv-heads", "1", "--ff", "64", "--ctx", "32", "--seed", "1"], check=True, capture_output=True)
    rc, out, err = ck(["perplexity", paths[256], "-f", text[0], "-c", "32"])
    assert rc == 0 and "read as bytes" in err and f"{TEXT_BYTES} tokens" in err, err
    running, ppl, _ = parse(out)
    assert len(running) == TEXT_BYTES // 32 and 1.0 < ppl < 1e4
    assert "-c defaults to 512 (llama-perplexity's); this program has 32 positions" in ck(["perplexity", paths[256], "-f", text[0]])[2]
    rc, _, err = ck(["perplexity", paths[256], "-f", text[0], "-c", "33"])
    assert rc == 2 and "-c 33: more than the 32 positions" in err, err
    rc, _, err = ck(["perplexity", paths[64], "-f", text[0], "-c", "32"])
    assert rc == 1 and "the text needs the model's tokenizer" in err, err
