"""Writes tests/data/hostile/: small hostile GGUF files that `make test` replays through ck info,
ck tokenize, ck build and ck run under ASan+UBSan (tests/test_hostile.py). Each file is a tiny,
valid byte-level Llama (ckgen --init: 1 layer, n_embd 8, vocabulary 256, context 32) with one
thing made wrong; the file name says what. Run from the repository root after `make tools`:

    /usr/bin/python3 tests/make_hostile.py

The files are committed (a few hundred KB in all); this script is how they were made.
"""
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from oracle import gguf as G  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "data", "hostile")


def base(path):
    cfg = os.path.join(OUT, "config.json")
    with open(cfg, "w") as f:
        json.dump({"architecture": "llama", "n_embd": 8, "n_layer": 1, "n_ff": 16, "n_head": 2, "n_head_kv": 1,
                   "n_ctx": 32, "tokenizer": "bytes", "seed": 7}, f)
    subprocess.run([os.path.join(REPO, "build", "ckgen"), "--init", cfg, path], check=True, capture_output=True)
    os.remove(cfg)


def rewrite(src, dst, kv=(), drop=(), replace=None, arch=None):
    g = G.read(src)
    tensors = []
    for t in g.tensors:
        name = t.name.decode()
        if name in drop:
            continue
        data = bytes(t.data)
        if replace and name in replace:
            data = replace[name](np.frombuffer(data, np.float32).copy()).astype(np.float32).tobytes()
        tensors.append((name, t.ne, t.type, data))
    keys = g.kv.copy()
    if arch:
        keys["general.architecture"] = G.value(arch)
    keys.update((k, v if isinstance(v, G.Value) else G.value(v)) for k, v in kv)
    G.write(dst, keys, tensors, version=g.version, alignment=g.alignment)


def main():
    os.makedirs(OUT, exist_ok=True)
    ok = os.path.join(OUT, "ok.gguf")
    base(ok)
    raw = open(ok, "rb").read()
    g = G.read(ok)
    F32, U32 = G.F32, G.U32
    cases = {
        "rope_dim_gt_head": dict(kv=[("llama.rope.dimension_count", G.value(96, U32))]),
        "rope_dim_odd": dict(kv=[("llama.rope.dimension_count", G.value(3, U32))]),
        "freq_base_negative": dict(kv=[("llama.rope.freq_base", G.value(-1.0, F32))]),
        "eps_nan": dict(kv=[("llama.attention.layer_norm_rms_epsilon", G.value(float("nan"), F32))]),
        "context_u32_max": dict(kv=[("llama.context_length", G.value(0xFFFFFFFF, U32))]),
        "kv_heads_zero": dict(kv=[("llama.attention.head_count_kv", G.value(0, U32))]),
        "layers_huge": dict(kv=[("llama.block_count", G.value(100000, U32))]),
        "embd_zero": dict(kv=[("llama.embedding_length", G.value(0, U32))]),
        "rope_scaling_unknown": dict(kv=[("llama.rope.scaling.type", "ntk-by-parts")]),
        "softcap_unmodelled": dict(kv=[("llama.attn_logit_softcapping", G.value(50.0, F32))]),
        "arch_unknown": dict(arch="mamba9"),
        "tensor_missing": dict(drop=("blk.0.ffn_down.weight",)),
        "weights_nan": dict(replace={"token_embd.weight": lambda a: np.where(np.arange(a.size) % 7 == 0, np.nan, a)}),
        "tokens_not_strings": dict(kv=[("tokenizer.ggml.tokens", G.value(list(range(256)), U32))]),
        "tokens_too_few": dict(kv=[("tokenizer.ggml.tokens", G.value(["a", "b"]))]),
        "tokenizer_model_unknown": dict(kv=[("tokenizer.ggml.model", "wordpiece-9000")]),
    }
    for name, kw in cases.items():
        rewrite(ok, os.path.join(OUT, name + ".gguf"), **kw)
    # byte-level damage to the file itself
    with open(os.path.join(OUT, "truncated_data.gguf"), "wb") as f:
        f.write(raw[: len(raw) - 1000])
    with open(os.path.join(OUT, "truncated_header.gguf"), "wb") as f:
        f.write(raw[:200])
    with open(os.path.join(OUT, "garbage.gguf"), "wb") as f:
        f.write(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with open(os.path.join(OUT, "empty.gguf"), "wb") as f:
        pass
    bad = bytearray(raw)   # the first tensor's offset (the 8 bytes after its type) far past the end
    pos = g.tensor_info_offset if hasattr(g, "tensor_info_offset") else None
    if pos is None:
        name = g.tensors[0].name
        pos = raw.index(name) + len(name)
        n_dims = int.from_bytes(raw[pos:pos + 4], "little")
        pos += 4 + 8 * n_dims + 4
    bad[pos:pos + 8] = (1 << 40).to_bytes(8, "little")
    with open(os.path.join(OUT, "tensor_offset_past_end.gguf"), "wb") as f:
        f.write(bytes(bad))
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{OUT}: {len(os.listdir(OUT))} files, {total / 1024:.0f} KB")


if __name__ == "__main__":
    main()
