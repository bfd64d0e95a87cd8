"""The ck tool and the run program against hostile command lines (issue 13).

* file names with quotes, spaces, '$', backquotes, newlines, a leading '-', or a '*/' that would
  end ckgen's header comment: the model runs and nothing else happens (no shell anywhere);
* every bad option of run gives its message and exit status 2, never a signal: checked on a build
  with canaries and ASan/UBSan, over option combinations at the edges of the KV cache;
* non-finite logits: a message naming the position, exit status 1;
* a child killed by a signal is reported by name;
* ck run's cache follows what the program is made of: a model file changed in place (same name,
  same tensors, another rope.freq_base / epsilon / context) runs a new program, equal to a fresh
  build's.
"""
import os
import shutil
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from oracle import gguf as G

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(REPO, "build")
CK = os.path.join(B, "ck")
DEMO = os.path.join(REPO, "examples", "demo", "shakespeare.gguf")
DEMO_CTX = 256
# a build that reports any write past an arena section (canaries) or any memory error (ASan/UBSan)
CHECKED = "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -DCK_CANARIES"
FAST = "-O0"  # for the tests where the program's speed does not matter: the quickest compile


def ck(args, cflags=FAST, cwd=None, timeout=300, env_extra=None):
    env = dict(os.environ, CK_CFLAGS=cflags, OMP_NUM_THREADS="1", ASAN_OPTIONS="detect_leaks=0")
    env.pop("CC", None)
    for k, v in (env_extra or {}).items():   # None: unset
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    r = subprocess.run([CK] + args, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def never_broken(rc, err):
    """no signal, no canary report, no sanitizer report"""
    assert rc >= 0 and rc < 128, f"killed (status {rc}): {err}"
    for bad in ("killed by", "canary", "AddressSanitizer", "runtime error", "LeakSanitizer"):
        assert bad not in err, err


@pytest.fixture(scope="session")
def tools():
    for t in ("ck", "ckgen", "mkmodel"):
        if not os.path.exists(os.path.join(B, t)):
            pytest.fail(f"build/{t} is missing: run `make tools build/mkmodel`", pytrace=False)


@pytest.fixture(scope="session")
def tiny(tools, tmp_path_factory):
    """a 1-layer f32 Llama with a context of 16 (no tokenizer)"""
    path = str(tmp_path_factory.mktemp("tiny") / "tiny.gguf")
    subprocess.run([os.path.join(B, "mkmodel"), "llama", path, "--vocab", "64", "--embd", "32", "--layers", "1", "--heads",
                    "2", "--kv-heads", "1", "--ff", "64", "--ctx", "16", "--seed", "1"], check=True, capture_output=True)
    return path


def toks(n, v=65):
    return ",".join([str(v)] * n)


# ---- run's options: (arguments after the model, the message, the exit status) ---------------
CASES = [
    (["-p", "A", "--temp", "nan"], "run: --temp nan: must be a finite number >= 0 (0 = greedy)", 2),
    (["-p", "A", "--temp", "inf"], "run: --temp inf: must be a finite number >= 0 (0 = greedy)", 2),
    (["-p", "A", "--temp", "1e300"], "run: --temp 1e300: must be a finite number >= 0 (0 = greedy)", 2),
    (["-p", "A", "--temp", "-1"], "run: --temp -1: must be a finite number >= 0 (0 = greedy)", 2),
    (["-p", "A", "--top-p", "2"], "run: --top-p 2: must be in (0, 1] (1 = off)", 2),
    (["-p", "A", "--top-p", "0"], "run: --top-p 0: must be in (0, 1] (1 = off)", 2),
    (["-p", "A", "--top-p", "nan"], "run: --top-p nan: must be in (0, 1] (1 = off)", 2),
    (["-p", "A", "--top-k", "-5"], "run: --top-k -5: must be 0 or more (0 = all)", 2),
    (["-p", "A", "-n", "abc"], "run: -n abc: not a number", 2),
    (["-p", "A", "-n", "5x"], "run: -n 5x: not a number", 2),
    (["-p", "A", "-n", ""], "run: -n : not a number", 2),
    (["-p", "A", "-n", "-100"], "run: -n -100: must be -1 (to the end of the context) or 0 or more (at most 2147483647)", 2),
    (["-p", "A", "-n", "99999999999"], "run: -n 99999999999: must be -1 (to the end of the context) or 0 or more (at most 2147483647)", 2),
    (["-p", "A", "-n", "2147483647"],
     "run: -n 2147483647: the prompt's 1 tokens leave 255 of the 256 positions this program was generated for (ckgen --max-ctx)", 2),
    (["-p", "A", "--seed", "abc"], "run: --seed abc: not a whole unsigned number (0..18446744073709551615)", 2),
    (["-p", "A", "--seed", "-1"], "run: --seed -1: not a whole unsigned number (0..18446744073709551615)", 2),
    (["-p", "A", "--seed", "18446744073709551616"],
     "run: --seed 18446744073709551616: not a whole unsigned number (0..18446744073709551615)", 2),
    (["-p", "A", "--tokens", "1"], "run: -p and --tokens both give the prompt: use one", 2),
    (["--tokens", "1", "--logits", "x.f32", "--decode-logits", "y.f32"], "run: --logits and --decode-logits: use one", 2),
    (["--tokens", "1", "--logits", "x.f32", "-n", "3"],
     "run: -n does not apply with --logits (it writes the prompt's logits and generates nothing)", 2),
    (["-p", "A", "-n", "3", "-n", "4"], "run: -n given twice", 2),
    (["-p", "A", "--temp"], "run: --temp needs a value", 2),
    (["-p", "A", "--bogus"], "run: unknown option --bogus", 2),
    (["-n", "3"], "run: no prompt (-p TEXT, -f FILE or --tokens ID,ID,...)", 2),
    (["--tokens", "1,2,x"], "run: --tokens: 'x' is not a token id (ids are 0..255)", 2),
    (["--tokens", "256"], "run: --tokens: '256' is not a token id (ids are 0..255)", 2),
    (["--tokens", ""], "run: the prompt is empty", 2),
    # the KV cache's edges: the demo program has 256 positions
    (["--tokens", toks(300), "-n", "-100"], "run: -n -100: must be -1 (to the end of the context) or 0 or more (at most 2147483647)", 2),
    (["--tokens", toks(300), "-n", "0"],
     "run: the prompt has 300 tokens, more than the 256 positions this program was generated for (ckgen --max-ctx)", 2),
    (["--tokens", toks(257), "--logits", "x.f32"],
     "run: the prompt has 257 tokens, more than the 256 positions this program was generated for (ckgen --max-ctx)", 2),
    (["--tokens", toks(200), "-n", "57"],
     "run: -n 57: the prompt's 200 tokens leave 56 of the 256 positions this program was generated for (ckgen --max-ctx)", 2),
    (["--tokens", toks(256), "-n", "1"],
     "run: -n 1: the prompt's 256 tokens leave 0 of the 256 positions this program was generated for (ckgen --max-ctx)", 2),
    # fit exactly, or just: these run
    (["--tokens", toks(200), "-n", "56", "--quiet"], None, 0),
    (["--tokens", toks(256), "-n", "0"], None, 0),
    (["--tokens", toks(256), "--decode-logits", "x.f32"], None, 0),
    (["--tokens", toks(250), "-n", "6", "--temp", "1.5", "--top-k", "0", "--top-p", "1", "--seed", "18446744073709551615", "--warmup"], None, 0),
    (["-p", "A" * 255, "-n", "0"], None, 0),  # 255 bytes + BOS = 256 positions
    (["-p", "ROMEO:", "-n", "250", "--temp", "0"], None, 0),
    (["-p", "A", "-n", "3", "--temp", "1e-30", "--top-p", "1e-30", "--top-k", "1"], None, 0),
]


@pytest.mark.parametrize("args,message,status", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_run_options(tools, tmp_path, args, message, status):
    rc, out, err = ck(["run", DEMO] + args, cflags=CHECKED, cwd=str(tmp_path))
    never_broken(rc, err)
    assert rc == status, f"status {rc}, expected {status}: {err}"
    if message:
        assert message + "\n" in err, err
        assert f"run: exited with status {status}" in err, err  # ck names the program it ran


def test_run_help(tools):
    rc, out, err = ck(["run", DEMO, "--help"], cflags=CHECKED)
    assert rc == 0 and "usage: run -m MODEL" in out, err


# ---- no shell: any byte in a path is a byte of the path --------------------------------------
HOSTILE = [
    "x'; touch INJECTED; echo '.gguf",
    "a b $HOME $(touch INJECTED2) `touch INJECTED3` \"q\" \\ \n newline.gguf",
    "-leading-dash.gguf",
    os.path.join("d*", " int injected = ; ", "*.gguf"),  # would end the generated header's first comment
]


@pytest.mark.parametrize("name", HOSTILE, ids=["quotes", "shell-bytes", "dash", "comment-end"])
def test_hostile_file_names(tiny, tmp_path, name):
    os.makedirs(os.path.join(tmp_path, os.path.dirname(name)) or str(tmp_path), exist_ok=True)
    shutil.copy(tiny, os.path.join(tmp_path, name))
    before = set(os.listdir(tmp_path))
    rc, out, err = ck(["run", name, "--tokens", "1,2,3", "-n", "2", "--temp", "0"], cwd=str(tmp_path))
    never_broken(rc, err)
    assert rc == 0, err
    assert out.startswith("output:") and len(out.split()) == 3, out
    assert set(os.listdir(tmp_path)) == before, "something was created beside the model"
    assert not any(os.path.exists(os.path.join(tmp_path, f)) for f in ("INJECTED", "INJECTED2", "INJECTED3"))


def test_missing_model(tools, tmp_path):
    rc, out, err = ck(["run", "no such model.gguf", "--tokens", "1"], cwd=str(tmp_path))
    never_broken(rc, err)
    assert rc == 1 and "ck run: ckgen failed on no such model.gguf" in err, err


# ---- a non-finite logit: a message naming the position ----------------------------------------
def test_nan_logits(tiny, tmp_path):
    path = str(tmp_path / "nanlogits.gguf")
    shutil.copy(tiny, path)
    f = G.read(path)
    t = next(t for t in f.tensors if t.name in (b"output_norm.weight", "output_norm.weight"))
    with open(path, "r+b") as fh:
        fh.seek(f.data_offset + t.offset)
        fh.write(struct.pack("<f", float("nan")) * t.n_elements)
    for extra in (["--temp", "0"], ["--temp", "0.8"], ["--top-k", "0", "--top-p", "1"]):
        rc, out, err = ck(["run", path, "--tokens", "1,2,3", "-n", "4"] + extra, cwd=str(tmp_path))
        never_broken(rc, err)
        assert rc == 1 and "run: logits at position 2 are not finite (NaN or Inf): nothing to sample\n" in err, err


# ---- how children end --------------------------------------------------------------------------
def test_child_killed_by_signal(tiny, tmp_path):
    cc = tmp_path / "crashing-cc"
    cc.write_text("#!/bin/sh\nkill -SEGV $$\n")
    cc.chmod(0o755)
    rc, out, err = ck(["build", tiny, "-o", str(tmp_path / "out")], env_extra={"CC": str(cc)})
    assert rc == 1, err  # ck build failed; the line above it names the signal
    assert "crashing-cc: killed by SIGSEGV\n" in err and "ck build: the C compiler failed on examples/run.c" in err, err


def test_ck_own_options(tiny, tmp_path):
    for args, msg in ((["info", tiny, "-n", "abc"], "ck info: -n wants a whole number >= 0"),
                      (["info", tiny, "-n", "-1"], "ck info: -n wants a whole number >= 0"),
                      (["build", tiny, "--train", "8x"], "ck build: --train wants B or BxT"),
                      (["build", tiny, "--train", "0x5"], "ck build: --train wants B or BxT"),
                      (["build", tiny, "-o"], "ck build: -o needs a directory")):
        rc, out, err = ck(args, cwd=str(tmp_path))
        assert rc == 2 and msg in err, (args, err)


# ---- the build cache follows the model's metadata ----------------------------------------------
def patch_key(path, key, value):
    """overwrite a scalar key's value in place (same size: the file stays the same but for it)"""
    f = G.read(path)
    raw = f.raw
    needle = struct.pack("<Q", len(key)) + key.encode()
    at = raw.index(needle) + len(needle)
    vtype = struct.unpack_from("<I", raw, at)[0]
    fmt = {G.F32: "<f", G.U32: "<I", G.I32: "<i", G.U64: "<Q"}[vtype]
    with open(path, "r+b") as fh:
        fh.seek(at + 4)
        fh.write(struct.pack(fmt, value))


def logits_of(cmd, path, out, cwd):
    rc, _, err = cmd(out)
    assert rc == 0, err
    return np.fromfile(out, dtype=np.float32)


def test_cache_follows_metadata(tiny, tmp_path):
    path = str(tmp_path / "cached.gguf")
    shutil.copy(tiny, path)
    tokens = "1,5,9,13,17,21,25,29,33,37,41,45"

    def via_run(tag):
        out = str(tmp_path / f"run-{tag}.f32")
        rc, _, err = ck(["run", path, "--tokens", tokens, "--logits", out], cwd=str(tmp_path))
        assert rc == 0, err
        return np.fromfile(out, dtype=np.float32)

    def via_fresh_build(tag):
        d = str(tmp_path / f"fresh-{tag}")
        rc, _, err = ck(["build", path, "-o", d], cwd=str(tmp_path))
        assert rc == 0, err
        out = str(tmp_path / f"fresh-{tag}.f32")
        r = subprocess.run([os.path.join(d, "run"), "-m", path, "--tokens", tokens, "--logits", out], capture_output=True)
        assert r.returncode == 0, r.stderr
        return np.fromfile(out, dtype=np.float32)

    before = via_run("before")
    assert np.array_equal(before, via_run("again"))  # the cached program
    for key, value in (("llama.rope.freq_base", 500.0), ("llama.attention.layer_norm_rms_epsilon", 0.5)):
        patch_key(path, key, value)
        changed = via_run(key)
        assert not np.allclose(changed, before), f"{key}: the cached program ran with the old value"
        assert np.array_equal(changed, via_fresh_build(key)), f"{key}: differs from a fresh build"
        before = changed
    patch_key(path, "llama.context_length", 8)
    rc, _, err = ck(["run", path, "--tokens", tokens, "--logits", str(tmp_path / "x.f32")], cwd=str(tmp_path))
    assert rc == 2 and "run: the prompt has 12 tokens, more than the 8 positions" in err, err


def test_ck_run_kv_f16(tiny, tmp_path):
    """ck run --kv-f16 builds a separate program with an F16 KV cache (ckgen --kv-f16): the cache key
    follows the generated header, its logits stay close to the f32 cache's (F16 keys and values)
    but are not the same program's"""
    tokens = "1,5,9,13,17,21,25,29"
    outs = {}
    for tag, extra in (("f32", []), ("f16", ["--kv-f16"])):
        out = str(tmp_path / f"{tag}.f32")
        rc, _, err = ck(["run", tiny] + extra + ["--tokens", tokens, "--decode-logits", out], cwd=str(tmp_path))
        assert rc == 0, err
        outs[tag] = np.fromfile(out, dtype=np.float32)
    progs = [d for d in os.listdir(os.path.join(B, "models")) if d.startswith("tiny-")]
    heads = [open(os.path.join(B, "models", d, "tiny.h")).read() for d in progs if os.path.exists(os.path.join(B, "models", d, "tiny.h"))]
    assert any("#define TINY_KV_F16 1" in h for h in heads) and any("#define TINY_KV_F16 0" in h for h in heads), progs
    d = float(np.max(np.abs(outs["f16"] - outs["f32"])))
    scale = float(np.max(np.abs(outs["f32"])))
    assert 0 < d < 0.01 * scale, (d, scale)  # F16 rounding of K/V: visible, but ~1e-4 of the range
    rc, out, _ = ck(["run", "--help"])
    assert rc == 0 and "--kv-f16" in out


def test_default_threads_leave_busy_cores(tiny, tmp_path):
    """with no -t and no OMP_NUM_THREADS, run takes the physical cores other processes leave idle:
    with every logical CPU kept busy by a spinning process that is one thread (OpenMP threads that
    share cores with other work wait on each other at every kernel); -t still wins"""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count())]
    try:
        time.sleep(0.3)
        for extra, want in (([], "threads: 1;"), (["-t", "3"], "threads: 3;")):
            rc, _, err = ck(["run", tiny, "--tokens", "1,2,3", "-n", "2"] + extra, cflags="-O0 -fopenmp", cwd=str(tmp_path),
                            env_extra={"OMP_NUM_THREADS": None})
            line = err.strip().splitlines()[-1]
            assert rc == 0 and want in line, (extra, err)
    finally:
        for p in spinners:
            p.kill()
