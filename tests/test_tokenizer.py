"""The tokenizer through the ``ck`` tool: ``ck tokenize -f`` on every reference string of
tests/data/vocab gives llama.cpp's ids (the .out files), ``ck detokenize`` gives the bytes back
for the lossless kinds, and the Unicode tables in ckernel.h are what oracle/gen_unicode_tables.py
generates from this Python's unicodedata."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = os.path.join(ROOT, "tests", "data", "vocab")
SEP = b"\n__ggml_vocab_test__\n"
NAMES = ["gpt-2", "deepseek-llm", "falcon", "llama-spm", "bert-bge"]


def cases(name):
    inp = open(os.path.join(VOCAB, f"ggml-vocab-{name}.gguf.inp"), "rb").read()
    out = open(os.path.join(VOCAB, f"ggml-vocab-{name}.gguf.out"), "rb").read().decode().split("\n")
    strings = inp.split(SEP)[:-1]
    assert len(strings) == len(out) - 1 and len(strings) > 40
    return [(s, [int(x) for x in o.split()]) for s, o in zip(strings, out)]


@pytest.mark.parametrize("name", NAMES)
def test_cli_reference(ck_bin, tmp_path, name):
    model = os.path.join(VOCAB, f"ggml-vocab-{name}.gguf")
    for i, (text, want) in enumerate(cases(name)):
        f = tmp_path / f"{i}.txt"
        f.write_bytes(text)
        got = subprocess.run([ck_bin, "tokenize", model, "-f", str(f)], check=True, capture_output=True).stdout.split()
        assert [int(x) for x in got] == want, (name, text)
        if name != "bert-bge" and want:
            back = subprocess.run([ck_bin, "detokenize", model] + [str(x) for x in want], check=True, capture_output=True).stdout
            assert back == text, (name, text)


def test_unicode_tables_generated():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "oracle", "gen_unicode_tables.py"), "--check",
                        os.path.join(ROOT, "ckernel.h")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_errors(ck_bin):
    model = os.path.join(VOCAB, "ggml-vocab-gpt-2.gguf")
    assert subprocess.run([ck_bin, "tokenize", model], capture_output=True).returncode == 2
    assert subprocess.run([ck_bin, "detokenize", model, "50257"], capture_output=True).returncode == 2
    r = subprocess.run([ck_bin, "tokenize", os.path.join(VOCAB, "missing.gguf"), "x"], capture_output=True)
    assert r.returncode == 1 and b"missing.gguf" in r.stderr
