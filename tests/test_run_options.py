"""run's generation options (issue 14): end of generation and stop strings.

* the stop-string detector (ckernel.h 14, ck_stop_*) against a whole-text reference
  (tests/test_stop.c, under ASan+UBSan);
* generation ends at the file's end-of-generation token: the demo model with
  tokenizer.ggml.eos_token_id set to the token greedy decoding gives at some step stops right
  there (the token not printed), and --ignore-eos goes on with the same tokens; a token whose
  text is an end-of-turn marker (<|im_end|>) ends it without any key;
* --stop with a multi-byte string: the text before the stop string is printed whole, no byte
  of the stop string is; held-back text that does not become a stop string is printed;
* bad --stop values are refused by name.
The demo model's vocabulary is byte-level (256 tokens, GPT-2 byte characters, no merges), so a
token's text can be rewritten without changing its id or the model's logits.
"""
import os
import subprocess

import pytest

from oracle import gguf as G
from tests.test_cli import B, CK, DEMO, REPO, ck, never_broken

PROMPT = "ROMEO:"  # greedy: "\nI have the son of the son, and the son to the son\nto the so"


def rewrite(src, dst, kv=(), texts=()):
    """copy a GGUF, setting keys (name, Value) and token texts (id, str)"""
    g = G.read(src)
    tensors = [(t.name.decode(), t.ne, t.type, bytes(t.data)) for t in g.tensors]
    keys = g.kv.copy()
    keys.update((k, G.value(v)) for k, v in kv)
    if texts:
        toks = keys["tokenizer.ggml.tokens"]
        items = list(toks.value)
        for i, s in texts:
            items[i] = s.encode()
        keys["tokenizer.ggml.tokens"] = G.Value(toks.type, items, toks.arr_type)
    G.write(dst, keys, tensors, version=g.version, alignment=g.alignment)
    return dst


def gpt2_chars(bs):
    """bytes as GPT-2's byte-level token text (the inverse of what decoding does)"""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return "".join(table[b] for b in bs)


def ids_of(args, path=DEMO, cwd=None):
    rc, out, err = ck(["run", path] + args + ["--temp", "0"], cwd=cwd)
    never_broken(rc, err)
    assert rc == 0 and out.startswith("output:"), err
    return [int(x) for x in out.split()[1:]], err


def text_of(args, path, cwd):
    """stdout without the prompt it starts with and the newline it ends with (bytes)"""
    env = dict(os.environ, CK_CFLAGS="-O0", OMP_NUM_THREADS="1")
    r = subprocess.run([CK, "run", path, "-p", PROMPT, "--temp", "0"] + args, cwd=cwd, env=env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(PROMPT.encode()) and r.stdout.endswith(b"\n"), r.stdout
    return r.stdout[len(PROMPT):-1], r.stderr.decode(errors="replace")


def test_stop_detector(tmp_path):
    exe = str(tmp_path / "test_stop")
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", "-I", REPO, os.path.join(REPO, "tests", "test_stop.c"), "-o", exe, "-lm"],
                   check=True)
    r = subprocess.run([exe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("ok (0 failures)"), r.stdout + r.stderr


def first_new(ids, at_least):
    """the first step >= at_least whose token did not come before"""
    return next(i for i in range(at_least, len(ids)) if ids[i] not in ids[:i])


def test_eos_stops_generation(tmp_path):
    base, err = ids_of(["--tokens", "82,79", "-n", "30"])
    assert err.rstrip().endswith("stop: length"), err
    k = first_new(base, 4)
    path = rewrite(DEMO, str(tmp_path / "eos.gguf"), kv=[("tokenizer.ggml.eos_token_id", G.value(base[k], G.U32))])
    ids, err = ids_of(["--tokens", "82,79", "-n", "30"], path, str(tmp_path))
    assert ids == base[:k], (ids, base, k)
    assert f"decode: {k} tokens" in err and err.rstrip().endswith("stop: eos"), err
    ids, err = ids_of(["--tokens", "82,79", "-n", "30", "--ignore-eos"], path, str(tmp_path))
    assert ids == base and err.rstrip().endswith("stop: length"), err
    # the text: everything before the EOS token, nothing of it
    full, _ = text_of(["-n", "30"], DEMO, str(tmp_path))
    k = first_new(list(full), 4)  # one byte per token; the same greedy run from "ROMEO:"
    path = rewrite(DEMO, str(tmp_path / "eos2.gguf"), kv=[("tokenizer.ggml.eos_token_id", G.value(full[k], G.U32))])
    text, err = text_of(["-n", "30"], path, str(tmp_path))
    assert text == full[:k] and err.rstrip().endswith("stop: eos"), (text, full, err)


def test_end_of_turn_marker_stops_generation(tmp_path):
    base, _ = ids_of(["--tokens", "82,79", "-n", "30"])
    k = first_new(base, 6)
    path = rewrite(DEMO, str(tmp_path / "eot.gguf"), texts=[(base[k], "<|im_end|>")])
    ids, err = ids_of(["--tokens", "82,79", "-n", "30"], path, str(tmp_path))
    assert ids == base[:k] and err.rstrip().endswith("stop: eos"), (ids, base, err)
    ids, err = ids_of(["--tokens", "82,79", "-n", "30", "--ignore-eos"], path, str(tmp_path))
    assert ids == base, (ids, base)


@pytest.fixture(scope="module")
def euro(tmp_path_factory):
    """the demo with 's' decoding to the 3 bytes of '€' and 'n' to 'é''s 2 bytes split over two
    tokens: 'n' -> C3, ',' -> A9 (so "son," reads "€oé")"""
    d = tmp_path_factory.mktemp("euro")
    path = rewrite(DEMO, str(d / "euro.gguf"),
                   texts=[(ord("s"), gpt2_chars("€".encode())), (ord("n"), gpt2_chars(b"\xc3")), (ord(","), gpt2_chars(b"\xa9"))])
    full, err = text_of(["-n", "60"], path, str(d))
    assert "the €oé a".encode() in full, full  # "the son, a": the rewrite took
    return path, full, str(d)


@pytest.mark.parametrize("stops", [["€oé"], ["é"], ["\n"], ["zz", "the €o"], ["€oé €", "of"], ["€o€"], ["none here"]],
                         ids=lambda s: "|".join(s).encode().hex())
def test_stop_strings(euro, stops):
    path, full, cwd = euro
    args = ["-n", "60"]
    for s in stops:
        args += ["--stop", s]
    text, err = text_of(args, path, cwd)
    hits = [full.find(s.encode()) for s in stops if s.encode() in full]
    if not hits:
        assert text == full and err.rstrip().endswith("stop: length"), (text, full, err)
        return
    cut = min(hits)
    assert text == full[:cut], (text, full[:cut])  # all that comes before, nothing of the stop string
    assert err.rstrip().endswith("stop: stop"), err
    for s in stops:  # no partial stop string at the end
        b = s.encode()
        assert not any(text.endswith(b[:i]) for i in range(1, len(b)) if not full[:cut].endswith(b[:i])), (text, s)


def test_stop_with_token_ids(euro):
    path, full, cwd = euro
    base, _ = ids_of(["--tokens", "82,79,77,69,79,58", "-n", "60"], path, cwd)
    ids, err = ids_of(["--tokens", "82,79,77,69,79,58", "-n", "60", "--stop", "€oé"], path, cwd)
    # the ids come as they are generated, up to the one that completes the stop string
    assert ids == base[:len(ids)] and len(ids) < len(base) and err.rstrip().endswith("stop: stop"), (ids, err)
    assert base[len(ids) - 1] == ord(","), ids


STOP_CASES = [
    (["-p", "A", "--stop", ""], "run: --stop '': a stop string cannot be empty"),
    (["-p", "A", "--stop", "x" * 257], "run: --stop " + "x" * 48 + "...: longer than 256 bytes"),
    (["-p", "A"] + ["--stop", "x"] * 17, "run: --stop given more than 16 times"),
    (["--tokens", "1", "--logits", "x.f32", "--stop", "x"],
     "run: --stop does not apply with --logits (it writes the prompt's logits and generates nothing)"),
    (["--tokens", "1", "--logits", "x.f32", "--ignore-eos"],
     "run: --ignore-eos does not apply with --logits (it writes the prompt's logits and generates nothing)"),
    (["-p", "A", "--ignore-eos", "--ignore-eos"], "run: --ignore-eos given twice"),
    (["-p", "A", "--stop"], "run: --stop needs a value"),
]


@pytest.mark.parametrize("args,message", STOP_CASES, ids=[" ".join(c[0])[:40] for c in STOP_CASES])
def test_bad_stop_options(tmp_path, args, message):
    rc, out, err = ck(["run", DEMO] + args, cwd=str(tmp_path))
    never_broken(rc, err)
    assert rc == 2 and message + "\n" in err, err


def test_stop_needs_a_tokenizer(tmp_path):
    path = str(tmp_path / "tiny.gguf")
    subprocess.run([os.path.join(B, "mkmodel"), "llama", path, "--vocab", "64", "--embd", "32", "--layers", "1", "--heads",
                    "2", "--kv-heads", "1", "--ff", "64", "--ctx", "16", "--seed", "1"], check=True, capture_output=True)
    rc, out, err = ck(["run", path, "--tokens", "1,2", "-n", "2", "--stop", "x"], cwd=str(tmp_path))
    assert rc == 2 and "run: --stop needs the tokenizer of a GGUF (tokenizer.ggml.*)" in err, err
    rc, out, err = ck(["run", path, "--tokens", "1,2", "-n", "2", "--temp", "0"], cwd=str(tmp_path))  # ids without one
    assert rc == 0 and len(out.split()) == 3, err
