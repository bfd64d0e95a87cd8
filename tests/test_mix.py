"""mkmodel --mix PRESET against llama.cpp's llama-quantize: the type of every tensor, per preset.

EXPECTED is a recorded observation of an external tool, not our own output: llama.cpp's
`llama-quantize IN.gguf OUT.gguf PRESET` (commit c392e5094, Feb 2025, no importance matrix) run on
f32 files written by `mkmodel llama IN.gguf` + SHAPES[shape], and the types of its output read
back. llama.cpp is not needed to run this test. Per layered role, the types of layers 0..n-1,
run-length coded ("q6_K*2 q4_K" = q6_K, q6_K, q4_K). The shapes cover the preset rules:
  t16:  16 layers (first sixteenth, eighths, every third layer), n_head/n_head_kv = 4 (Q2_K's
        attn_v), ff = 640 (ffn_down rows not whole 256-blocks: Q4_K -> Q5_0, Q5_K -> Q5_1,
        Q6_K -> Q8_0, Q2_K/Q3_K -> IQ4_NL), an untied output.weight;
  t576: SmolLM-like n_embd = 576 = 2.25 * 256, 8 layers, n_head/n_head_kv = 3, tied embeddings
        (token_embd takes output's rule: Q8_0 because its rows are not whole 256-blocks).
"""
import os
import subprocess

import pytest

from oracle import gguf as G
from oracle import quant as Q
from oracle.ckernel import build_dir

SHAPES = {
    "t16": ["--embd", "256", "--layers", "16", "--heads", "8", "--kv-heads", "2", "--ff", "640", "--vocab", "256"],
    "t576": ["--embd", "576", "--layers", "8", "--heads", "9", "--kv-heads", "3", "--ff", "1536", "--vocab", "256", "--tied"],
}
PRESETS = ["q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k", "q8_0",
           "q4_0", "q4_1", "q5_0", "q5_1"]

# shape -> preset -> tensor (without ".weight"; layered roles without "blk.N.") -> type(s), as
# llama-quantize wrote them. 1-D tensors (norms) stay f32 and are not listed.
EXPECTED = {
    "t16": {
        "q2_k": {"output": "q6_K", "token_embd": "q2_K", "attn_k": "q2_K*16", "attn_output": "q3_K*16", "attn_q": "q2_K*16", "attn_v": "q4_K*16", "ffn_down": "iq4_nl*16", "ffn_gate": "q2_K*16", "ffn_up": "q2_K*16"},
        "q3_k_s": {"output": "q6_K", "token_embd": "q3_K", "attn_k": "q3_K*16", "attn_output": "q3_K*16", "attn_q": "q3_K*16", "attn_v": "q3_K*16", "ffn_down": "iq4_nl*16", "ffn_gate": "q3_K*16", "ffn_up": "q3_K*16"},
        "q3_k_m": {"output": "q6_K", "token_embd": "q3_K", "attn_k": "q3_K*16", "attn_output": "q4_K*16", "attn_q": "q3_K*16", "attn_v": "q5_K*2 q4_K*14", "ffn_down": "q5_1 q5_0*15", "ffn_gate": "q3_K*16", "ffn_up": "q3_K*16"},
        "q3_k_l": {"output": "q6_K", "token_embd": "q3_K", "attn_k": "q3_K*16", "attn_output": "q5_K*16", "attn_q": "q3_K*16", "attn_v": "q5_K*16", "ffn_down": "q5_1*16", "ffn_gate": "q3_K*16", "ffn_up": "q3_K*16"},
        "q4_k_s": {"output": "q6_K", "token_embd": "q4_K", "attn_k": "q4_K*16", "attn_output": "q4_K*16", "attn_q": "q4_K*16", "attn_v": "q5_K*4 q4_K*12", "ffn_down": "q5_1*2 q5_0*14", "ffn_gate": "q4_K*16", "ffn_up": "q4_K*16"},
        "q4_k_m": {"output": "q6_K", "token_embd": "q4_K", "attn_k": "q4_K*16", "attn_output": "q4_K*16", "attn_q": "q4_K*16", "attn_v": "q6_K*2 q4_K*2 q6_K q4_K*2 q6_K q4_K*2 q6_K q4_K*2 q6_K*3", "ffn_down": "q8_0*2 q5_0*2 q8_0 q5_0*2 q8_0 q5_0*2 q8_0 q5_0*2 q8_0*3", "ffn_gate": "q4_K*16", "ffn_up": "q4_K*16"},
        "q5_k_s": {"output": "q6_K", "token_embd": "q5_K", "attn_k": "q5_K*16", "attn_output": "q5_K*16", "attn_q": "q5_K*16", "attn_v": "q5_K*16", "ffn_down": "q5_1*16", "ffn_gate": "q5_K*16", "ffn_up": "q5_K*16"},
        "q5_k_m": {"output": "q6_K", "token_embd": "q5_K", "attn_k": "q5_K*16", "attn_output": "q5_K*16", "attn_q": "q5_K*16", "attn_v": "q6_K*2 q5_K*2 q6_K q5_K*2 q6_K q5_K*2 q6_K q5_K*2 q6_K*3", "ffn_down": "q8_0*2 q5_1*2 q8_0 q5_1*2 q8_0 q5_1*2 q8_0 q5_1*2 q8_0*3", "ffn_gate": "q5_K*16", "ffn_up": "q5_K*16"},
        "q6_k": {"output": "q6_K", "token_embd": "q6_K", "attn_k": "q6_K*16", "attn_output": "q6_K*16", "attn_q": "q6_K*16", "attn_v": "q6_K*16", "ffn_down": "q8_0*16", "ffn_gate": "q6_K*16", "ffn_up": "q6_K*16"},
        "q8_0": {"output": "q8_0", "token_embd": "q8_0", "attn_k": "q8_0*16", "attn_output": "q8_0*16", "attn_q": "q8_0*16", "attn_v": "q8_0*16", "ffn_down": "q8_0*16", "ffn_gate": "q8_0*16", "ffn_up": "q8_0*16"},
        "q4_0": {"output": "q6_K", "token_embd": "q4_0", "attn_k": "q4_0*16", "attn_output": "q4_0*16", "attn_q": "q4_0*16", "attn_v": "q4_0*16", "ffn_down": "q4_0*16", "ffn_gate": "q4_0*16", "ffn_up": "q4_0*16"},
        "q4_1": {"output": "q6_K", "token_embd": "q4_1", "attn_k": "q4_1*16", "attn_output": "q4_1*16", "attn_q": "q4_1*16", "attn_v": "q4_1*16", "ffn_down": "q4_1*16", "ffn_gate": "q4_1*16", "ffn_up": "q4_1*16"},
        "q5_0": {"output": "q6_K", "token_embd": "q5_0", "attn_k": "q5_0*16", "attn_output": "q5_0*16", "attn_q": "q5_0*16", "attn_v": "q5_0*16", "ffn_down": "q5_0*16", "ffn_gate": "q5_0*16", "ffn_up": "q5_0*16"},
        "q5_1": {"output": "q6_K", "token_embd": "q5_1", "attn_k": "q5_1*16", "attn_output": "q5_1*16", "attn_q": "q5_1*16", "attn_v": "q5_1*16", "ffn_down": "q5_1*16", "ffn_gate": "q5_1*16", "ffn_up": "q5_1*16"},
    },
    "t576": {
        "q2_k": {"token_embd": "q8_0", "attn_k": "iq4_nl*8", "attn_output": "iq4_nl*8", "attn_q": "iq4_nl*8", "attn_v": "iq4_nl*8", "ffn_down": "q3_K*8", "ffn_gate": "iq4_nl*8", "ffn_up": "iq4_nl*8"},
        "q3_k_s": {"token_embd": "q8_0", "attn_k": "iq4_nl*8", "attn_output": "iq4_nl*8", "attn_q": "iq4_nl*8", "attn_v": "iq4_nl*8", "ffn_down": "q3_K*8", "ffn_gate": "iq4_nl*8", "ffn_up": "iq4_nl*8"},
        "q3_k_m": {"token_embd": "q8_0", "attn_k": "iq4_nl*8", "attn_output": "q5_0*8", "attn_q": "iq4_nl*8", "attn_v": "q5_1*2 q5_0*6", "ffn_down": "q4_K*8", "ffn_gate": "iq4_nl*8", "ffn_up": "iq4_nl*8"},
        "q3_k_l": {"token_embd": "q8_0", "attn_k": "iq4_nl*8", "attn_output": "q5_1*8", "attn_q": "iq4_nl*8", "attn_v": "q5_1*8", "ffn_down": "q5_K*8", "ffn_gate": "iq4_nl*8", "ffn_up": "iq4_nl*8"},
        "q4_k_s": {"token_embd": "q8_0", "attn_k": "q5_0*8", "attn_output": "q5_0*8", "attn_q": "q5_0*8", "attn_v": "q5_1*4 q5_0*4", "ffn_down": "q5_K q4_K*7", "ffn_gate": "q5_0*8", "ffn_up": "q5_0*8"},
        "q4_k_m": {"token_embd": "q8_0", "attn_k": "q5_0*8", "attn_output": "q5_0*8", "attn_q": "q5_0*8", "attn_v": "q8_0 q5_0*2 q8_0 q5_0*2 q8_0*2", "ffn_down": "q6_K q4_K*2 q6_K q4_K*2 q6_K*2", "ffn_gate": "q5_0*8", "ffn_up": "q5_0*8"},
        "q5_k_s": {"token_embd": "q8_0", "attn_k": "q5_1*8", "attn_output": "q5_1*8", "attn_q": "q5_1*8", "attn_v": "q5_1*8", "ffn_down": "q5_K*8", "ffn_gate": "q5_1*8", "ffn_up": "q5_1*8"},
        "q5_k_m": {"token_embd": "q8_0", "attn_k": "q5_1*8", "attn_output": "q5_1*8", "attn_q": "q5_1*8", "attn_v": "q8_0 q5_1*2 q8_0 q5_1*2 q8_0*2", "ffn_down": "q6_K q5_K*2 q6_K q5_K*2 q6_K*2", "ffn_gate": "q5_1*8", "ffn_up": "q5_1*8"},
        "q6_k": {"token_embd": "q8_0", "attn_k": "q8_0*8", "attn_output": "q8_0*8", "attn_q": "q8_0*8", "attn_v": "q8_0*8", "ffn_down": "q6_K*8", "ffn_gate": "q8_0*8", "ffn_up": "q8_0*8"},
        "q8_0": {"token_embd": "q8_0", "attn_k": "q8_0*8", "attn_output": "q8_0*8", "attn_q": "q8_0*8", "attn_v": "q8_0*8", "ffn_down": "q8_0*8", "ffn_gate": "q8_0*8", "ffn_up": "q8_0*8"},
        "q4_0": {"token_embd": "q8_0", "attn_k": "q4_0*8", "attn_output": "q4_0*8", "attn_q": "q4_0*8", "attn_v": "q4_0*8", "ffn_down": "q4_0*8", "ffn_gate": "q4_0*8", "ffn_up": "q4_0*8"},
        "q4_1": {"token_embd": "q8_0", "attn_k": "q4_1*8", "attn_output": "q4_1*8", "attn_q": "q4_1*8", "attn_v": "q4_1*8", "ffn_down": "q4_1*8", "ffn_gate": "q4_1*8", "ffn_up": "q4_1*8"},
        "q5_0": {"token_embd": "q8_0", "attn_k": "q5_0*8", "attn_output": "q5_0*8", "attn_q": "q5_0*8", "attn_v": "q5_0*8", "ffn_down": "q5_0*8", "ffn_gate": "q5_0*8", "ffn_up": "q5_0*8"},
        "q5_1": {"token_embd": "q8_0", "attn_k": "q5_1*8", "attn_output": "q5_1*8", "attn_q": "q5_1*8", "attn_v": "q5_1*8", "ffn_down": "q5_1*8", "ffn_gate": "q5_1*8", "ffn_up": "q5_1*8"},
    },
}


def mkmodel():
    p = os.path.join(build_dir(), "mkmodel")
    if not os.path.exists(p):
        pytest.fail(f"{p} not found: run `make {os.path.relpath(p)}`", pytrace=False)
    return p


def expand(shape, preset):
    """{tensor name: type} for every 2-D tensor of EXPECTED[shape][preset]"""
    out = {}
    for role, spec in EXPECTED[shape][preset].items():
        if role in ("token_embd", "output"):
            out[role + ".weight"] = spec
            continue
        types = []
        for run in spec.split():
            t, _, n = run.partition("*")
            types += [t] * int(n or 1)
        for layer, t in enumerate(types):
            out[f"blk.{layer}.{role}.weight"] = t
    return out


def listed(shape, preset):
    r = subprocess.run([mkmodel(), "llama", "-", *SHAPES[shape], "--mix", preset, "--list"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    return {name: t for name, ne0, ne1, t in rows}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mix_types_are_llama_quantize_types(shape, preset):
    got, want = listed(shape, preset), expand(shape, preset)
    n_layers = int(SHAPES[shape][SHAPES[shape].index("--layers") + 1])
    assert sum(k.startswith("blk.") for k in want) == 7 * n_layers   # the table is whole: 7 matrices a layer
    matrices = {k: v for k, v in got.items() if v != "f32" or k in want}
    assert matrices == want
    assert all(t == "f32" for k, t in got.items() if k not in want)   # norms


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mix_file_has_the_listed_types(shape, preset, tmp_path):
    """the written file's types are --list's; a file that would need IQ4_NL is refused while
    ckernel.h cannot write IQ4_NL (and is then not written at all)"""
    out = tmp_path / "m.gguf"
    lst = listed(shape, preset)
    r = subprocess.run([mkmodel(), "llama", str(out), *SHAPES[shape], "--mix", preset], capture_output=True, text=True)
    if r.returncode != 0:
        assert "IQ4_NL" in r.stderr and "iq4_nl" in lst.values(), r.stderr
        assert not out.exists()
        return
    g = G.read(str(out))
    assert {t.name.decode(): Q.TYPE_BY_ID.get(t.type, str(t.type)) for t in g.tensors} == lst


def test_mix_refusals():
    """an unknown preset; a shape llama-quantize refuses too (output rows of 80: no Q8_0 fallback)"""
    r = subprocess.run([mkmodel(), "llama", "-", "--mix", "q4_k_x", "--list"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown --mix preset" in r.stderr
    r = subprocess.run([mkmodel(), "llama", "-", "--embd", "80", "--heads", "2", "--mix", "q4_k_m", "--list"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "output.weight has rows of 80 values" in r.stderr
