"""The hostile corpus (tests/data/hostile, made by tests/make_hostile.py) replayed through the tools
a user runs -- ck info, ck tokenize, ck run (ckgen, the C compiler, the run program) -- all built
under ASan+UBSan (build/asan/ck, build/asan/ckgen; the run programs compiled with the same
sanitizers through CK_CFLAGS). Every case must end with a clean error naming what is wrong and an
exit code: never a signal, a sanitizer report, a hang, or exit 0 with garbage. Option lists are
replayed through `ck run` on the corpus's one good file the same way.
"""
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "tests", "data", "hostile")
ASAN_CK = os.path.join(REPO, "build", "asan", "ck")
SAN_FLAGS = "-std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# file -> what ck run must say (ckgen, the tokenizer or the program); ck info must parse every file
# the GGUF reader accepts and name the problem of the others
RUN = {
    "rope_dim_gt_head": "llama.rope.dimension_count = 96: the rotated dimensions must be even and at most the head size",
    "rope_dim_odd": "llama.rope.dimension_count = 3: the rotated dimensions must be even",
    "freq_base_negative": "llama.rope.freq_base = -1: rope_base must be in (0",
    "eps_nan": "llama.attention.layer_norm_rms_epsilon = nan is not a finite number",
    "context_u32_max": "llama.context_length = 4294967295: n_ctx must be in [1, 16777216]",
    "kv_heads_zero": "llama.attention.head_count_kv = 0: n_head_kv must be in [1, 4096]",
    "layers_huge": "llama.block_count = 100000: n_layer must be in [1, 4096]",
    "embd_zero": "llama.embedding_length = 0: n_embd must be in [1, 1048576]",
    "rope_scaling_unknown": "llama.rope.scaling.type = 'ntk-by-parts'",
    "softcap_unmodelled": "llama.attn_logit_softcapping = 50 is not modelled by models/llama.h",
    "arch_unknown": "architecture 'mamba9' has no declaration in models/",
    "tensor_missing": "tensor blk.0.ffn_down.weight is missing",
    "weights_nan": "are not finite (NaN or Inf): nothing to sample",   # run: logits at position N ...
    "tokens_not_strings": "tokenizer.ggml.tokens: missing or not a string array",
    "tokens_too_few": "tokenizer.ggml.token_type has 256 entries for 2 tokens",
    "tokenizer_model_unknown": 'tokenizer.ggml.model "wordpiece-9000" is not supported',
    "truncated_data": "is past the end of the file",
    "truncated_header": "tensor count 11 at offset 8 is impossible for a file of 200 bytes",
    "garbage": "not a GGUF file",
    "empty": "shorter than the 24-byte GGUF header",
    "tensor_offset_past_end": "is past the end of the file",
}
BROKEN_FILES = {"truncated_data", "truncated_header", "garbage", "empty", "tensor_offset_past_end"}
BROKEN_TOKENIZERS = {"tokens_not_strings", "tokens_too_few", "tokenizer_model_unknown"}
# ck run ok.gguf OPTIONS -> message (exit 2: a usage error)
OPTIONS = [
    (["-p", "Hi", "-n", "abc"], "run: -n abc: not a number"),
    (["-p", "Hi", "-n", "-100"], "run: -n -100: must be -1 (to the end of the context) or 0 or more"),
    (["-p", "Hi", "-n", "2147483647"], "run: -n 2147483647: the prompt's"),
    (["-p", "Hi", "--temp", "nan"], "run: --temp nan: must be a finite number >= 0"),
    (["-p", "Hi", "--temp", "-1"], "run: --temp -1: must be a finite number >= 0"),
    (["-p", "Hi", "--top-p", "2"], "run: --top-p 2: must be in (0, 1]"),
    (["-p", "Hi", "--top-k", "-5"], "run: --top-k -5: must be 0 or more"),
    (["-p", "Hi", "--seed", "abc"], "run: --seed abc: not a whole unsigned number"),
    (["-p", "Hi", "--tokens", "1,2"], "run: -p and --tokens both give the prompt: use one"),
    (["-p", "x" * 40, "-n", "1"], "more than the 32 positions this program was generated for"),
]


def sanitizer_env():
    e = dict(os.environ)
    e["CK_CFLAGS"] = SAN_FLAGS
    e["OMP_NUM_THREADS"] = "1"
    e["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"   # a report ends the process with exit 1 and the text below
    return e


def ck(args, timeout=300):
    if not os.path.exists(ASAN_CK):
        pytest.fail(f"{ASAN_CK} not found: run `make build/asan/ck build/asan/ckgen`", pytrace=False)
    r = subprocess.run([ASAN_CK] + [str(a) for a in args], capture_output=True, timeout=timeout, env=sanitizer_env())
    err = r.stderr.decode(errors="replace")
    assert r.returncode >= 0, f"ck {args}: killed by signal {-r.returncode}\n{err}"
    for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "killed by SIG", "Assertion"):
        assert bad not in err, f"ck {args}: {bad}\n{err}"
    return r.returncode, r.stdout.decode(errors="replace"), err


@pytest.fixture(scope="module", autouse=True)
def asan_tools():
    if not (os.path.exists(ASAN_CK) and os.path.exists(os.path.join(REPO, "build", "asan", "ckgen"))):
        pytest.fail("build/asan/ck and build/asan/ckgen are missing: `make test` builds them", pytrace=False)
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.fail("no C compiler", pytrace=False)


def test_the_good_file_runs():
    """the control: the corpus's base file builds and runs under the sanitizers (so the cases below
    fail because of what was made wrong in them, not because nothing works)"""
    rc, out, err = ck(["run", os.path.join(CORPUS, "ok.gguf"), "-p", "Hi", "-n", "4", "--temp", "0"])
    assert rc == 0, err
    assert out.startswith("Hi"), out


@pytest.mark.parametrize("name", sorted(RUN))
def test_hostile_file(name):
    path = os.path.join(CORPUS, name + ".gguf")
    rc, out, err = ck(["info", path])
    if name in BROKEN_FILES:
        assert rc == 1 and "gguf:" in err and RUN[name] in err, err
    else:
        assert rc == 0 and "tensors:" in out, err
    rc, out, err = ck(["tokenize", path, "Hello"])
    if name in BROKEN_FILES or name in BROKEN_TOKENIZERS:
        assert rc == 1 and RUN[name] in err, err
    else:
        assert rc == 0 and out.split() == ["72", "101", "108", "108", "111"], (out, err)
    rc, out, err = ck(["run", path, "-p", "Hi", "-n", "3"])
    assert rc != 0, f"{name}: exit 0 (output {out!r})"
    assert RUN[name] in err, err


@pytest.mark.parametrize("args,says", OPTIONS, ids=[" ".join(a)[:40] for a, _ in OPTIONS])
def test_hostile_options(args, says):
    rc, out, err = ck(["run", os.path.join(CORPUS, "ok.gguf")] + args)
    assert rc == 2, (rc, err)
    assert says in err, err
