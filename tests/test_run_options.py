"""run's generation options (issue 14): end of generation, stop strings, prompts, threads, penalties.

* the stop-string detector (ckernel.h 14, ck_stop_*) against a whole-text reference
  (tests/test_stop.c, under ASan+UBSan);
* generation ends at the file's end-of-generation token: the demo model with
  tokenizer.ggml.eos_token_id set to the token greedy decoding gives at some step stops right
  there (the token not printed), and --ignore-eos goes on with the same tokens; a token whose
  text is an end-of-turn marker (<|im_end|>) ends it without any key;
* --stop with a multi-byte string: the text before the stop string is printed whole, no byte
  of the stop string is; held-back text that does not become a stop string is printed;
* bad --stop values are refused by name;
* -f FILE and -f - give the prompt's bytes (NUL included); -t 1 and -t 2 give the same tokens
  (greedy and sampled, an OpenMP build); -n -1 fills the context ("stop: context");
* --repeat-penalty and --min-p: every generated token is checked against the logits of the same
  sequence (--decode-logits) with llama.cpp's penalty / the min-p bound applied in numpy; a
  greedy loop on one token is broken by a penalty on the last token; min-p 1 is greedy;
* bad values of every new option are refused by name.
The demo model's vocabulary is byte-level (256 tokens, GPT-2 byte characters, no merges), so a
token's text can be rewritten without changing its id or the model's logits.
"""
import os
import subprocess

import numpy as np

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


# ---- the prompt from a file or stdin; threads; -n -1 --------------------------------------------
def run_raw(args, cwd, stdin=None, cflags="-O0", env_extra=None):
    env = dict(os.environ, CK_CFLAGS=cflags, OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    r = subprocess.run([CK, "run", DEMO] + args, cwd=cwd, env=env, input=stdin, capture_output=True, timeout=300)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def test_prompt_from_file_and_stdin(tmp_path):
    prompt = "ROMEO:\nO, \xe9t\xe9\x00!"  # any bytes, NUL included
    (tmp_path / "p.txt").write_bytes(prompt.encode("latin-1"))
    rc, by_file, err = run_raw(["-f", "p.txt", "-n", "12", "--temp", "0"], str(tmp_path))
    assert rc == 0, err
    assert "prompt: 15 tokens: 82 79 77 69 79 58 10 79 44 32 233 116 233 0 33\n" in err, err  # every byte, none lost at the NUL
    assert by_file.startswith(prompt.encode("latin-1")), by_file
    rc, by_stdin, err = run_raw(["-f", "-", "-n", "12", "--temp", "0"], str(tmp_path), stdin=prompt.encode("latin-1"))
    assert rc == 0 and by_stdin == by_file, err
    rc, by_p, err = run_raw(["-p", "ROMEO:", "-n", "12", "--temp", "0"], str(tmp_path))
    (tmp_path / "q.txt").write_text("ROMEO:")
    rc, by_q, err = run_raw(["-f", "q.txt", "-n", "12", "--temp", "0"], str(tmp_path))
    assert rc == 0 and by_q == by_p, (by_q, by_p)


@pytest.mark.parametrize("extra", [["--temp", "0"], ["--temp", "0.9", "--seed", "5"]], ids=["greedy", "sampled"])
def test_thread_count_does_not_change_tokens(tmp_path, extra):
    outs = []
    for t in ("1", "2"):
        rc, out, err = run_raw(["--tokens", "82,79,77,69,79,58", "-n", "40", "-t", t] + extra, str(tmp_path), cflags="-O1 -fopenmp")
        assert rc == 0, err
        outs.append(out)
    assert outs[0] == outs[1] and len(outs[0].split()) == 41, outs


def test_n_minus_one_fills_the_context(tmp_path):
    rc, out, err = run_raw(["--tokens", ",".join(["65"] * 200), "-n", "-1", "--temp", "0"], str(tmp_path))
    assert rc == 0 and len(out.split()) == 1 + 56, err  # "output:" and 256 - 200 ids
    assert err.rstrip().endswith("stop: context"), err


# ---- repeat penalty and min-p, checked step by step against the logits of the same tokens -------
def decode_logits(tmp_path, ids):
    out = str(tmp_path / "dl.f32")
    rc, _, err = run_raw(["--tokens", ",".join(map(str, ids)), "--decode-logits", out], str(tmp_path))
    assert rc == 0, err
    return np.fromfile(out, dtype=np.float32).reshape(len(ids), -1)


PROMPT_IDS = [82, 79, 77, 69, 79, 58]


def test_repeat_penalty(tmp_path):
    args = ["--tokens", ",".join(map(str, PROMPT_IDS)), "-n", "40", "--temp", "0"]
    plain = [int(x) for x in run_raw(args, str(tmp_path))[1].split()[1:]]
    rc, out, err = run_raw(args + ["--repeat-penalty", "1.7", "--repeat-last-n", "8"], str(tmp_path))
    assert rc == 0, err
    ids = [int(x) for x in out.split()[1:]]
    assert ids != plain and len(ids) == 40
    seq = PROMPT_IDS + ids
    L = decode_logits(tmp_path, seq[:-1])
    for i, tok in enumerate(ids):  # llama.cpp's penalty on the distinct ids among the last 8, then argmax
        row = L[len(PROMPT_IDS) - 1 + i].copy()
        for t in set(seq[:len(PROMPT_IDS) + i][-8:]):
            row[t] = row[t] / np.float32(1.7) if row[t] > 0 else row[t] * np.float32(1.7)
        assert int(np.argmax(row)) == tok, (i, tok, int(np.argmax(row)))
    # tests/data/hostile/ok.gguf repeats one token greedily; a strong penalty on the last token only
    # makes it never repeat a token right away
    ok = os.path.join(REPO, "tests", "data", "hostile", "ok.gguf")
    args = ["--tokens", "1,2,3", "-n", "20", "--temp", "0"]
    rc, out, err = ck(["run", ok] + args, cwd=str(tmp_path))
    ids = [int(x) for x in out.split()[1:]]
    assert rc == 0 and len(set(ids)) == 1, ids
    rc, out, err = ck(["run", ok] + args + ["--repeat-penalty", "1000", "--repeat-last-n", "1"], cwd=str(tmp_path))
    ids = [int(x) for x in out.split()[1:]]
    assert rc == 0 and len(ids) == 20 and all(a != b for a, b in zip(ids, ids[1:])), ids


def test_min_p(tmp_path):
    args = ["--tokens", ",".join(map(str, PROMPT_IDS)), "-n", "40"]
    greedy = run_raw(args + ["--temp", "0"], str(tmp_path))[1]
    rc, out, err = run_raw(args + ["--temp", "3", "--top-k", "0", "--top-p", "1", "--min-p", "1"], str(tmp_path))
    assert rc == 0 and out == greedy, (out, greedy)  # only the most likely token is left
    hot = args + ["--temp", "50", "--top-k", "0", "--top-p", "1", "--seed", "3"]
    wild = [int(x) for x in run_raw(hot, str(tmp_path))[1].split()[1:]]
    ids = [int(x) for x in run_raw(hot + ["--min-p", "0.3"], str(tmp_path))[1].split()[1:]]
    seq = PROMPT_IDS + ids
    L = decode_logits(tmp_path, seq[:-1])
    for i, tok in enumerate(ids):  # every token drawn is at least 0.3 x as likely as the best one
        row = L[len(PROMPT_IDS) - 1 + i].astype(np.float64)
        assert row[tok] >= row.max() + np.log(0.3) - 1e-5, (i, tok)
    assert wild != ids  # without it, temperature 50 draws almost uniformly


OPTION_CASES = [
    (["-p", "A", "-f", "x"], "run: -p and -f both give the prompt: use one"),
    (["--tokens", "1", "-f", "x"], "run: -f and --tokens both give the prompt: use one"),
    (["-f", "no such file"], "run: -f no such file: No such file or directory"),
    (["-f"], "run: -f needs a value"),
    (["-p", "A", "-t", "0"], "run: -t 0: must be 1..4096"),
    (["-p", "A", "--threads", "x"], "run: --threads x: not a number"),
    (["-p", "A", "-t", "1", "--threads", "2"], "run: --threads given twice"),
    (["-p", "A", "--repeat-penalty", "0"], "run: --repeat-penalty 0: must be a finite number > 0 (1 = off)"),
    (["-p", "A", "--repeat-penalty", "nan"], "run: --repeat-penalty nan: must be a finite number > 0 (1 = off)"),
    (["-p", "A", "--repeat-penalty", "-2"], "run: --repeat-penalty -2: must be a finite number > 0 (1 = off)"),
    (["-p", "A", "--repeat-last-n", "-1"], "run: --repeat-last-n -1: must be 0 or more (0 = off)"),
    (["-p", "A", "--min-p", "1.5"], "run: --min-p 1.5: must be in [0, 1] (0 = off)"),
    (["-p", "A", "--min-p", "nan"], "run: --min-p nan: must be in [0, 1] (0 = off)"),
    (["-p", "A", "-n", "-2"], "run: -n -2: must be -1 (to the end of the context) or 0 or more (at most 2147483647)"),
    (["--tokens", "1", "--logits", "x.f32", "--min-p", "0.1"],
     "run: --min-p does not apply with --logits (it writes the prompt's logits and generates nothing)"),
]


@pytest.mark.parametrize("args,message", OPTION_CASES, ids=[" ".join(c[0])[:40] for c in OPTION_CASES])
def test_bad_options(tmp_path, args, message):
    rc, out, err = ck(["run", DEMO] + args, cwd=str(tmp_path))
    never_broken(rc, err)
    assert rc == 2 and message + "\n" in err, err


# ---- ck run's own option and help; ck --version -------------------------------------------------
def test_ck_run_help_lists_the_run_options(tmp_path):
    for args in (["run", "--help"], ["run", DEMO, "--help"]):
        rc, out, err = ck(args, cwd=str(tmp_path))
        assert rc == 0, err
        for opt in ("-f FILE", "--threads", "--stop STRING", "--ignore-eos", "--repeat-penalty", "--min-p", "--top-p", "--quiet"):
            assert opt in out, (args, opt, out)
    rc, out, err = ck(["run", "--help"], cwd=str(tmp_path))
    assert "-c, --ctx N" in out and "capped at 4096" in out, out
    rc, out, err = ck(["--version"], cwd=str(tmp_path))
    assert rc == 0 and out.startswith("ck (ckernel ") and "SIMD: " in out, out


def test_ck_run_ctx(tmp_path):
    ok = os.path.join(REPO, "tests", "data", "hostile", "ok.gguf")  # context_length 32
    for ctx, n in (([], 31), (["-c", "100"], 99), (["--ctx", "8"], 7)):
        rc, out, err = ck(["run", ok] + ctx + ["--tokens", "1", "-n", "-1", "--temp", "0"], cwd=str(tmp_path))
        assert rc == 0 and len(out.split()) == 1 + n and err.rstrip().endswith("stop: context"), (ctx, out, err)
    rc, out, err = ck(["run", ok, "--tokens", "1", "-n", "3", "--stop", "-c", "-c", "9"], cwd=str(tmp_path))  # a value is not -c
    assert rc == 0 and len(out.split()) == 4, err
    for args, msg in ((["-c", "0"], "ck run: -c wants a whole number of positions, 1..16777216"),
                      (["-c", "x"], "ck run: -c wants a whole number of positions, 1..16777216"),
                      (["-c"], "ck run: -c needs a number of positions"),
                      (["-c", "9", "--ctx", "9"], "ck run: -c given twice")):
        rc, out, err = ck(["run", ok, "--tokens", "1"] + args, cwd=str(tmp_path))
        assert rc == 2 and msg in err, (args, err)


# ---- --json ------------------------------------------------------------------------------------
def json_run(args, path=DEMO, cwd=None):
    import json
    rc, out, err = ck(["run", path] + args + ["--json"], cwd=cwd)
    never_broken(rc, err)
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]  # every line is one JSON object
    return lines[:-1], lines[-1]


def test_json_tokens_and_summary(tmp_path):
    args = ["--tokens", ",".join(map(str, PROMPT_IDS)), "-n", "20", "--temp", "0"]
    plain = [int(x) for x in run_raw(args, str(tmp_path))[1].split()[1:]]
    toks, summary = json_run(args + ["--n-probs", "3"], cwd=str(tmp_path))
    assert [t["id"] for t in toks] == plain
    assert summary["prompt_tokens"] == 6 and summary["generated_tokens"] == 20 and summary["stop"] == "length", summary
    assert summary["prompt_tokens_per_s"] > 0 and summary["generation_tokens_per_s"] > 0, summary
    L = decode_logits(tmp_path, PROMPT_IDS + plain[:-1]).astype(np.float64)
    for i, t in enumerate(toks):  # the model's log-softmax, before any sampling setting
        row = L[len(PROMPT_IDS) - 1 + i]
        lsm = row - row.max() - np.log(np.exp(row - row.max()).sum())
        assert abs(t["logprob"] - lsm[t["id"]]) < 1e-4, (i, t, lsm[t["id"]])
        assert [a["id"] for a in t["top"]] == list(np.argsort(-row, kind="stable")[:3]), (i, t)
        assert all(abs(a["logprob"] - lsm[a["id"]]) < 1e-4 for a in t["top"])
        assert t["top"][0]["id"] == t["id"] and t["text"] == chr(t["id"])  # greedy; byte-level ASCII
    # the text of -p is the concatenation of the tokens' texts
    text, _ = text_of(["-n", "20"], DEMO, str(tmp_path))
    toks, summary = json_run(["-p", PROMPT, "-n", "20", "--temp", "0"], cwd=str(tmp_path))
    assert "".join(t["text"] for t in toks).encode() == text and all(t["top"] == [] for t in toks), toks


def test_json_invalid_utf8_and_stop_reasons(euro, tmp_path):
    path, full, cwd = euro
    toks, summary = json_run(["-p", PROMPT, "-n", "30", "--temp", "0"], path, cwd)
    texts = [t["text"] for t in toks]
    assert "\u20ac" in texts and "\ufffd" in texts, texts  # 's' is a whole '€'; 'n' a lone C3 byte
    assert next(t for t in toks if t["id"] == ord("n"))["text"] == "\ufffd"
    toks, summary = json_run(["-p", PROMPT, "-n", "30", "--temp", "0", "--stop", "€oé"], path, cwd)
    assert summary["stop"] == "stop" and toks[-1]["id"] == ord(","), (summary, toks[-1])
    toks, summary = json_run(["--tokens", ",".join(["65"] * 250), "-n", "-1", "--temp", "0"], DEMO, str(tmp_path))
    assert summary["stop"] == "context" and summary["generated_tokens"] == len(toks) == 6, summary
    base, _ = ids_of(["--tokens", "82,79", "-n", "30"])
    k = first_new(base, 4)
    eos = rewrite(DEMO, str(tmp_path / "eos.gguf"), kv=[("tokenizer.ggml.eos_token_id", G.value(base[k], G.U32))])
    toks, summary = json_run(["--tokens", "82,79", "-n", "30", "--temp", "0"], eos, str(tmp_path))
    assert summary["stop"] == "eos" and [t["id"] for t in toks] == base[:k], (summary, toks)


@pytest.mark.parametrize("args,message", [
    (["-p", "A", "--n-probs", "3"], "run: --n-probs needs --json (the alternatives are listed there)"),
    (["-p", "A", "--json", "--n-probs", "101"], "run: --n-probs 101: must be 0..100"),
    (["--tokens", "1", "--logits", "x.f32", "--json"],
     "run: --json does not apply with --logits (it writes the prompt's logits and generates nothing)"),
], ids=["no-json", "too-many", "logits"])
def test_bad_json_options(tmp_path, args, message):
    rc, out, err = ck(["run", DEMO] + args, cwd=str(tmp_path))
    never_broken(rc, err)
    assert rc == 2 and message + "\n" in err, err


def test_keep_last_truncates_from_the_left(tmp_path):
    """a prompt longer than the context is refused with both numbers; with --keep-last its first
    tokens are dropped (said on stderr) and the run equals one given only the kept tokens"""
    text = open(os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt"), "rb").read()[:600].decode()
    rc, out, err = ck(["run", DEMO, "-p", text, "-n", "5", "--temp", "0"])
    never_broken(rc, err)
    assert rc == 2 and "the prompt has 600 tokens, more than the 256 positions" in err, err
    rc, out, err = ck(["run", DEMO, "-p", text, "-n", "5", "--temp", "0", "--keep-last", "--quiet"])
    never_broken(rc, err)
    assert rc == 0 and "run: --keep-last: the prompt's first 349 tokens dropped, its last 251 kept (256 positions)" in err, err
    kept = ",".join(str(b) for b in text.encode()[-251:])   # byte-level vocabulary: token id = byte
    rc2, out2, err2 = ck(["run", DEMO, "--tokens", kept, "-n", "5", "--temp", "0", "--quiet"])
    assert rc2 == 0, err2
    ids2 = [int(x) for x in out2.replace("output:", "").split()]
    assert len(ids2) == 5 and out.encode().rstrip(b"\n") == bytes(ids2), (out, out2)   # the same 5 tokens (greedy, ASCII here)


def test_invalid_utf8_prompt_is_said_once(tmp_path):
    """a prompt that is not valid UTF-8 is tokenized as its bytes, and run says so once"""
    p = tmp_path / "bad.txt"
    p.write_bytes(b"ROMEO:\xff\xfe and \xc0\xaf")
    rc, out, err = ck(["run", DEMO, "-f", str(p), "-n", "3", "--temp", "0"])
    never_broken(rc, err)
    assert rc == 0, err
    assert err.count("not valid UTF-8") == 1 and "run: the prompt is not valid UTF-8 (byte 6)" in err, err
    assert "prompt: 12 tokens: 82 79 77 69 79 58 255 254 32 97 110 100" in err or "255 254" in err, err
