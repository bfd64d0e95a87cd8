"""The trainer against a hostile user and an unlucky machine (issue 13): checkpoints are one unit
(OUT/ckpt -> ckpt-STEP/{model.gguf, train_state.bin}, switched in by one rename), the state file is
validated field by field, --resume refuses other settings, --out is checked before step 1,
SIGINT/SIGTERM writes a checkpoint from which --resume continues bit-identically, a failed write
leaves the previous checkpoint resumable, and options are parsed strictly.

Write failures are real ones: RLIMIT_FSIZE (ulimit -f, which binds root too; train ignores
SIGXFSZ so the write fails with EFBIG) between the sizes of model.gguf and train_state.bin makes
the second file of a checkpoint fail after the first was written.
"""
import os
import re
import resource
import shlex
import signal
import struct
import subprocess

import pytest

from test_models import must, sh
from test_train import B, T, build_trainer, tool
from test_train import data  # noqa: F401  (the fixture)

STEPS = 12
ARGS = ["-b", B, "-t", T, "--steps", STEPS, "--lr", "1e-3", "--warmup", "2", "--accum", "2"]
EXIT_INTERRUPTED = 75
FNV0, FNV_PRIME, M64 = 1469598103934665603, 1099511628211, (1 << 64) - 1


# the trainer of these tests is built under ASan+UBSan (issue 13: every hostile state, option and
# signal case replayed under the sanitizers); leak reports are off (an error exit frees nothing)
SAN = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


@pytest.fixture(scope="module", autouse=True)
def no_leak_reports():
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = "detect_leaks=0"
    yield
    if old is None:
        del os.environ["ASAN_OPTIONS"]
    else:
        os.environ["ASAN_OPTIONS"] = old


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    work = tmp_path_factory.mktemp("safety")
    gguf, gen, exe = build_trainer(work, "llama", extra_cflags=SAN)
    return gguf, exe


def step_lines(s):
    return [re.sub(r"\| tok/s .*", "", l) for l in s.splitlines() if l.startswith("step ")]  # timing differs


def fnv(h, b):
    for x in b:
        h = ((h ^ x) * FNV_PRIME) & M64
    return h


def reseal(b):
    """recompute the check of a state file (FNV-1a of header bytes 0..159, then m and v), as a forger would"""
    struct.pack_into("<Q", b, 160, fnv(fnv(FNV0, b[:160]), b[168:]))
    return b


@pytest.fixture(scope="module")
def full(trainer, data, tmp_path_factory):
    """an uninterrupted run: its step lines and checkpoint files"""
    gguf, exe = trainer
    out = tmp_path_factory.mktemp("full") / "out"
    r = must([exe, "--init", gguf, "--data", data, "--out", out] + ARGS)
    return step_lines(r.stdout), {f: open(out / "ckpt" / f, "rb").read() for f in ("model.gguf", "train_state.bin")}


@pytest.fixture
def at5(trainer, data, tmp_path):
    """a run stopped at step 5: its OUT"""
    gguf, exe = trainer
    out = tmp_path / "at5"
    must([exe, "--init", gguf, "--data", data, "--out", out, "--stop-at", 5] + ARGS)
    return out


def resume(exe, data, out, extra=(), args=ARGS, **kw):
    return sh([exe, "--data", data, "--out", out, "--resume"] + list(args) + list(extra), **kw)


def test_layout_and_model_link(trainer, data, at5):
    gguf, exe = trainer
    assert sorted(os.listdir(at5)) == ["ckpt", "ckpt-00000005", "model.gguf"]
    assert os.readlink(at5 / "ckpt") == "ckpt-00000005" and os.readlink(at5 / "model.gguf") == "ckpt/model.gguf"
    r = must([tool("ck"), "info", at5 / "model.gguf"])
    assert "training.step" in r.stdout, r.stdout
    # a new run over this OUT reaching the same step: the new directory cannot take the current one's name
    r = must([exe, "--init", gguf, "--data", data, "--out", at5, "--stop-at", 5] + ARGS)
    assert "is replaced at this run's first checkpoint" in r.stderr, r.stderr
    assert sorted(os.listdir(at5)) == ["ckpt", "ckpt-00000005b", "model.gguf"] and os.readlink(at5 / "ckpt") == "ckpt-00000005b"


def test_crafted_data_pos_is_refused(trainer, data, at5):
    """the hostile user's file: data_pos near 2^64 with a valid check crashed --resume (SIGSEGV)"""
    gguf, exe = trainer
    p = at5 / "ckpt" / "train_state.bin"
    b = bytearray(open(p, "rb").read())
    struct.pack_into("<Q", b, 48, (1 << 64) - 8)
    open(p, "wb").write(reseal(b))
    r = resume(exe, data, at5)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "data position 18446744073709551608 is not inside the 58983 training tokens" in r.stderr, r.stderr


def forge(field, value, fmt="<Q"):
    def f(b):
        struct.pack_into(fmt, b, field, value)
        return reseal(b)
    return f


DAMAGE = {
    "empty": (lambda b: bytearray(), "not a ckernel training state"),
    "truncated_header": (lambda b: b[:100], "truncated: 100 bytes, the header alone is 168"),
    "truncated_moments": (lambda b: b[:-5], "a state of this model has 854696 (truncated or damaged)"),
    "one_byte_more": (lambda b: b + b"x", "854697 bytes, a state of this model has 854696"),
    "garbage": (lambda b: bytearray(os.urandom(len(b))), "not a ckernel training state (no CKTS magic)"),
    "flipped_moment": (lambda b: b[:1000] + bytes([b[1000] ^ 1]) + b[1001:], "checksum mismatch: the file is damaged"),
    "flipped_header": (lambda b: b[:48] + bytes([b[48] ^ 1]) + b[49:], "checksum mismatch"),
    "version1": (forge(4, 1, "<I"), "written by an older train (state version 1)"),
    "version3": (forge(4, 3, "<I"), "state version 3, this train reads version 2"),
    "header_bytes": (forge(8, 200, "<I"), "header size 200, expected 168"),
    "layout": (forge(16, 0x1234), "written for model layout 0x0000000000001234"),
    "weights_bytes": (forge(24, 1 << 62), "weight bytes); this program is"),
    "step_past_steps": (forge(32, 13), "step 13 is past --steps 12"),
    "steps_zero": (forge(40, 0), "--steps 0 is out of range"),
    "B_zero": (forge(88, 0, "<I"), "-b 0 is out of range"),
    "accum_huge": (forge(96, 0xFFFFFFFF, "<I"), "--accum 4294967295 is out of range"),
    "schedule": (forge(12, 7, "<I"), "schedule 7 is neither 0 (cosine) nor 1 (constant)"),
    "lr_nan": (forge(104, float("nan"), "<d"), "--lr nan is not a finite number > 0"),
    "beta2_one": (forge(144, 1.0, "<d"), "--beta2 1 is not in [0, 1)"),
    "train_tokens_small": (forge(56, 10), "10 training tokens cannot hold a batch of -b 2 x -t 16"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_state_is_refused(trainer, data, at5, case):
    """a truncated, damaged or forged state file is an error naming the file and the problem, never a crash"""
    gguf, exe = trainer
    p = at5 / "ckpt" / "train_state.bin"
    damage, msg = DAMAGE[case]
    b = damage(bytearray(open(p, "rb").read()))
    open(p, "wb").write(b)
    r = resume(exe, data, at5)
    assert r.returncode == 1, (case, r.returncode, r.stderr)
    named = str(at5 / "ckpt-00000005" / "train_state.bin")           # the directory OUT/ckpt names
    assert "train: --resume: " + named + ": " in r.stderr and msg in r.stderr, (case, r.stderr)


def test_mismatched_pair_is_refused(trainer, data, at5, tmp_path):
    """model.gguf of another checkpoint beside this train_state.bin (a hand-made pair) is refused"""
    gguf, exe = trainer
    other = tmp_path / "at3"
    must([exe, "--init", gguf, "--data", data, "--out", other, "--stop-at", 3] + ARGS)
    m = at5 / "ckpt" / "model.gguf"
    os.unlink(m)
    open(m, "wb").write(open(other / "ckpt" / "model.gguf", "rb").read())
    r = resume(exe, data, at5)
    assert r.returncode == 1 and "are not from the same checkpoint" in r.stderr, r.stderr


MISMATCH = {
    "-b": (["-b", "1"], "-b is 1 here, the checkpoint was written with -b 2"),
    "-t": (["-t", "8"], "-t is 8 here, the checkpoint was written with -t 16"),
    "--accum": (["--accum", "1"], "--accum is 1 here, the checkpoint was written with --accum 2"),
    "--lr": (["--lr", "2e-3"], "--lr is 0.002 here, the checkpoint was written with --lr 0.001"),
    "--steps": (["--steps", "13"], "--steps is 13 here, the checkpoint was written with --steps 12"),
    "--warmup": (["--warmup", "3"], "--warmup is 3 here, the checkpoint was written with --warmup 2"),
    "--schedule": (["--schedule", "constant"], "--schedule is constant here, the checkpoint was written with --schedule cosine"),
    "--min-lr-frac": (["--min-lr-frac", "0"], "--min-lr-frac is 0 here, the checkpoint was written with --min-lr-frac 0.1"),
    "--wd": (["--wd", "0.1"], "--wd is 0.1 here, the checkpoint was written with --wd 0"),
    "--clip": (["--clip", "0.5"], "--clip is 0.5 here, the checkpoint was written with --clip 1"),
    "--beta2": (["--beta2", "0.99"], "--beta2 is 0.99 here, the checkpoint was written with --beta2 0.999"),
}


@pytest.mark.parametrize("opt", list(MISMATCH))
def test_resume_refuses_other_settings(trainer, data, at5, opt):
    gguf, exe = trainer
    change, msg = MISMATCH[opt]
    args = [str(a) for a in ARGS]
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    r = resume(exe, data, at5, args=args)
    assert r.returncode == 2, (opt, r.returncode, r.stderr)
    assert "train: --resume: " + msg + "; a resumed run takes the same settings" in r.stderr, r.stderr
    assert "step 6/" not in r.stdout


def test_resume_refuses_other_data(trainer, data, at5, tmp_path):
    gguf, exe = trainer
    other = tmp_path / "other.txt"
    b = bytearray(open(data, "rb").read())
    b[100] ^= 1                                         # same size, one byte differs
    other.write_bytes(bytes(b))
    r = resume(exe, other, at5)
    assert r.returncode == 2 and re.search(r"--data \S+other.txt has 65536 bytes \(FNV-1a 0x[0-9a-f]{16}\), the checkpoint was "
                                           r"trained on 65536 bytes \(0x[0-9a-f]{16}\): not the same file", r.stderr), r.stderr
    r = resume(exe, data, at5, extra=["--val", data])
    assert r.returncode == 2 and "the training split has 65536 tokens here, 58983 in the checkpoint" in r.stderr, r.stderr


def test_old_layout_is_refused(trainer, data, tmp_path):
    gguf, exe = trainer
    out = tmp_path / "old"
    out.mkdir()
    (out / "model.gguf").write_bytes(open(gguf, "rb").read())
    (out / "train_state.bin").write_bytes(b"CKTS\x01\x00\x00\x00" + bytes(100))
    r = resume(exe, data, out)
    assert r.returncode == 1 and "a checkpoint of an older train" in r.stderr and "cannot be resumed" in r.stderr, r.stderr


def unwritable_dirs(tmp_path):
    """(name, --out) pairs that no write can succeed in, as root too"""
    f = tmp_path / "a_file"
    f.write_text("x")
    cases = [("under_a_file", f / "out"), ("a_file", f)]
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        os.chmod(ro, 0o555)
        cases += [("read_only", ro), ("read_only_sub", ro / "out")]
    else:
        try:                                             # sysfs refuses new files, even to root
            open("/sys/kernel/.train-probe", "w").close()
        except OSError:
            cases += [("read_only", "/sys/kernel")]
    return cases


def test_unwritable_out_is_refused_before_step_1(trainer, data, tmp_path):
    gguf, exe = trainer
    cases = unwritable_dirs(tmp_path)
    for name, out in cases:
        r = sh([exe, "--init", gguf, "--data", data, "--out", out] + ARGS)
        assert r.returncode == 1, (name, r.returncode, r.stderr)
        assert re.search(r"train: --out: cannot create (the directory|a file in) " + re.escape(str(out)) + r": .* \(errno \d+\)", r.stderr), \
            (name, r.stderr)
        assert "step 1/" not in r.stdout, name
    print(f"\nunwritable --out cases: {[c[0] for c in cases]}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_writes_a_checkpoint_and_resume_is_bit_identical(trainer, data, tmp_path, sig):
    gguf, exe = trainer
    out = tmp_path / "intr"
    steps = 60                                           # long enough that the signal lands mid-run
    args = [str(a) for a in ARGS]
    args[args.index("--steps") + 1] = str(steps)
    ref = must([exe, "--init", gguf, "--data", data, "--out", tmp_path / "ref"] + args)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([str(exe), "--init", str(gguf), "--data", str(data), "--out", str(out)] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    head = []
    for line in p.stdout:
        head.append(line)
        if line.startswith("step 3/"):
            p.send_signal(sig)
            break
    rest = p.stdout.read()                               # not communicate(): it would skip what the line reader buffered
    err = p.stderr.read()
    p.wait(timeout=300)
    first = step_lines("".join(head) + rest)
    assert p.returncode == EXIT_INTERRUPTED, (p.returncode, err)
    n = int(re.search(r"stopped by (SIGINT|SIGTERM) after step (\d+) of 60", err).group(2))
    assert 3 <= n < steps and "the checkpoint is in" in err, err
    assert os.readlink(out / "ckpt") == f"ckpt-{n:08d}"
    lines = err.splitlines()
    cmd = lines[next(i for i, l in enumerate(lines) if l.endswith("Resume with")) + 1]
    assert cmd.strip().endswith("--resume") and "--init" not in cmd, cmd
    r = subprocess.run(shlex.split(cmd), capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert first + step_lines(r.stdout) == step_lines(ref.stdout), "interrupted + resumed differs from an uninterrupted run"
    for f in ("model.gguf", "train_state.bin"):
        assert open(out / "ckpt" / f, "rb").read() == open(tmp_path / "ref" / "ckpt" / f, "rb").read(), f


def test_second_signal_aborts_at_once(trainer, data, tmp_path):
    """SIGINT then SIGTERM, delivered together (the process is stopped while both are sent, since
    two of the same signal would merge): the second one ends the program by its default action"""
    gguf, exe = trainer
    args = [str(a) for a in ARGS]
    args[args.index("--steps") + 1] = "100000"
    p = subprocess.Popen([str(exe), "--init", str(gguf), "--data", str(data), "--out", str(tmp_path / "o")] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    for line in p.stdout:
        if line.startswith("step 2/"):
            for s in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGCONT):
                p.send_signal(s)
            break
    p.stdout.read()
    err = p.stderr.read()
    p.wait(timeout=120)
    assert p.returncode == -signal.SIGTERM, (p.returncode, err)
    assert "interrupted: the step in progress ends" in err and "interrupted again: aborting without a checkpoint" in err, err
    assert not os.path.exists(tmp_path / "o" / "ckpt"), "a checkpoint was written"


def limit_fsize(n):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))


@pytest.mark.parametrize("failing", ["model.gguf", "train_state.bin"])
def test_failed_checkpoint_keeps_the_previous(trainer, data, full, at5, failing):
    """a write error in either file of the checkpoint of step 8: reported with path and errno, the
    checkpoint of step 5 stays intact and resumable, and the resumed run ends like an uninterrupted one"""
    gguf, exe = trainer
    before = {f: open(at5 / "ckpt" / f, "rb").read() for f in ("model.gguf", "train_state.bin")}
    msize, ssize = len(before["model.gguf"]), len(before["train_state.bin"])
    assert msize < ssize
    limit = msize // 2 if failing == "model.gguf" else (msize + ssize) // 2   # the state fails after the model was written
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([str(a) for a in [exe, "--data", data, "--out", at5, "--resume", "--stop-at", 8] + ARGS], capture_output=True,
                       text=True, env=env, preexec_fn=limit_fsize(limit), timeout=300)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"train: writing {at5}/.ckpt-new/{failing}: File too large (errno 27)" in r.stderr, r.stderr
    assert "the checkpoint of step 8 failed; " + str(at5) + "/ckpt still holds the one of step 5, intact. Resume with" in r.stderr, r.stderr
    assert sorted(os.listdir(at5)) == ["ckpt", "ckpt-00000005", "model.gguf"]       # no half-written directory left
    for f, b in before.items():
        assert open(at5 / "ckpt" / f, "rb").read() == b, f"{f} of the previous checkpoint changed"
    cmd = r.stderr.splitlines()[-1]
    r2 = subprocess.run(shlex.split(cmd), capture_output=True, text=True, env=env, timeout=300)
    assert r2.returncode == 0, r2.stderr
    assert step_lines(r2.stdout) == full[0][5:]
    for f, b in full[1].items():
        assert open(at5 / "ckpt" / f, "rb").read() == b, f"{f} differs from an uninterrupted run's"


OPTIONS = [
    (["--steps", "abc"], "train: --steps abc: not an integer"),
    (["--steps", "5x"], "train: --steps 5x: not an integer"),
    (["--steps", "0"], "train: --steps 0: must be an integer from 1 to 1000000000"),
    (["--steps", "99999999999"], "train: --steps 99999999999: must be an integer from 1 to 1000000000"),
    (["--warmup", " 3"], "train: --warmup  3: not an integer"),
    (["--accum", "-1"], "train: --accum -1: must be an integer from 1 to 1000000000"),
    (["-b", "3"], "train: -b 3 -t 16: this program was generated for at most 2 x 16 (ckgen --train-batch/--train-seq)"),
    (["-t", "1.5"], "train: -t 1.5: not an integer"),
    (["--eval-batches", "0"], "train: --eval-batches 0: must be an integer from 1 to 1000000000"),
    (["--save-every", "-2"], "train: --save-every -2: must be an integer from 0 to 1000000000"),
    (["--lr", "abc"], "train: --lr abc: not a number"),
    (["--lr", "1e-3x"], "train: --lr 1e-3x: not a number"),
    (["--lr", ""], "train: --lr : not a number"),
    (["--lr", "nan"], "train: --lr nan: must be a finite number > 0"),
    (["--lr", "inf"], "train: --lr inf: must be a finite number > 0"),
    (["--lr", "0"], "train: --lr 0: must be a finite number > 0"),
    (["--lr", "1e999"], "train: --lr 1e999: must be a finite number > 0"),
    (["--beta1", "1"], "train: --beta1 1: must be in [0, 1)"),
    (["--min-lr-frac", "1.5"], "train: --min-lr-frac 1.5: must be in [0, 1]"),
    (["--eps", "0"], "train: --eps 0: must be a finite number > 0"),
    (["--wd", "-1"], "train: --wd -1: must be a finite number >= 0"),
    (["--clip", "-0.5"], "train: --clip -0.5: must be a finite number >= 0"),
    (["--seed", "-1"], "train: --seed -1: not an unsigned 64-bit integer"),
    (["--schedule", "linear"], "train: --schedule linear: must be cosine or constant"),
    (["--steps", "12", "--stop-at", "13"], "train: --stop-at 13 is after the last step (--steps 12)"),
    (["--lr", "1e-3", "--lr", "1e-3"], "train: --lr is given twice"),
    (["-m", "x.gguf"], "train: --init is given twice"),
    (["--resume"], "train: --init and --resume conflict"),
    (["stray"], "train: unexpected argument 'stray'"),
    (["--sample"], "train: --sample needs a value (train --help)"),
    (["--sample", "--quiet"], "train: --sample needs a value, not --quiet"),
    (["--bogus", "1"], "train: unknown option --bogus"),
]


@pytest.mark.parametrize("extra,msg", OPTIONS, ids=[" ".join(o[0]) for o in OPTIONS])
def test_options_are_parsed_strictly(trainer, data, tmp_path, extra, msg):
    gguf, exe = trainer
    r = sh([exe, "--init", gguf, "--data", data, "--out", tmp_path / "o"] + extra)
    assert r.returncode == 2 and msg in r.stderr, (r.returncode, r.stderr)
    assert not os.path.exists(tmp_path / "o"), "a refused command line created --out"


def test_fuzz_seeds_and_findings(tmp_path):
    """the fuzz target's seeds and every file it ever found, through the target without libFuzzer"""
    here = os.path.dirname(os.path.abspath(__file__))
    exe = tmp_path / "fuzz_seeds"
    must([os.environ.get("CC", "cc"), "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O1", "-fsanitize=address,undefined",
          "-fno-sanitize-recover=all", "-I", os.path.dirname(here), "-DFUZZ_SEEDS_MAIN", os.path.join(here, "fuzz_train_state.c"), "-o", exe,
          "-lm"])
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    must([exe, seeds])
    found = os.path.join(here, "data", "fuzz_train_state")
    files = sorted(str(seeds / f) for f in os.listdir(seeds)) + \
        (sorted(os.path.join(found, f) for f in os.listdir(found)) if os.path.isdir(found) else [])
    r = must([exe, "--run"] + files)
    assert f"{len(files)} inputs: no crash" in r.stdout
    assert r.stdout.count(": valid") == 3, r.stdout
