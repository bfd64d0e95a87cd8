"""Data-parallel training over MPI (make test-mpi; issue 19): examples/train.c built with mpicc -DCK_MPI
(examples/train_mpi.h), run under Open MPI's mpirun, against the one-process trainer.

- The gradient sum (tests/test_mpi_sum.c): every element is the rank-order left fold on every rank, on
  data where another order rounds differently (MPI_Allreduce fails it at 3 and 4 ranks).
- 20 steps at -np 2 and -np 3 against 1 process with the same --accum (6: the global batch): losses
  within 1e-6 relative, final weights within WEIGHT_TOL; -np 1 is the one-process program bit for bit.
- The same N twice: checkpoints bit-identical.
- Resume with another N (stop at 10 with -np 2, resume with -np 3 and with 1 process): the same
  run as the uninterrupted one, within the same tolerances.
- A stop signal (SIGTERM to one rank, SIGUSR1 to mpirun): every rank stops after the same step,
  rank 0 checkpoints, exit 75; the checkpoint resumes.
- A rank killed with SIGKILL: the job ends within seconds, with mpirun's message naming it; rank 0
  failing to write a checkpoint ends every rank (MPI_Abort) after its message.
- Ranks started with other options, another model or data, an --accum that is not a multiple of N,
  a trainer built without MPI under mpirun: refused, the difference named.
- LoRA: the adapters' gradient section is summed the same way (-np 2 vs 1 process; that trainer
  built by `ck build --train --lora 4 --mpi`).

The model is the llama of test_train.py (no biases: GPT-2's key bias has an identically zero true
gradient, and Adam turns the rounding of a different summation order into steps of up to lr there).
Open MPI runs as root in CI: OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM); oversubscribed (3 ranks on 2 cores);
btl self,vader (shared memory: no network beyond the loopback interface); vader's single-copy
mechanism off (it needs ptrace rights that container seccomp profiles deny); OMP_NUM_THREADS=1.
"""
import os
import contextlib
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from oracle import train as TR
from test_models import must, sh
from test_train import B, T, build_trainer, losses, tool, REPO, CC, CFLAGS

MPICC = os.environ.get("MPICC", "mpicc")
ACCUM, STEPS = 6, 20      # a multiple of 2 and 3: the same global batch at -np 1, 2, 3
LOSS_REL = 1e-6           # the bound: every step's loss, N ranks vs 1 process
# The N ranks add the 6 micro-batch gradients in another order than one process (per rank, then
# across ranks): float32 rounding, ~1e-7 of a gradient, which 20 Adam steps (steps of ~lr = 1e-3
# whose direction is g/sqrt(v)) carry into the weights; measured: at most ~1e-6 (printed).
WEIGHT_TOL = 1e-5
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMP_NUM_THREADS": "1"}
MPIRUN = ["mpirun", "--bind-to", "none", "-x", "OMP_NUM_THREADS"]
KILL_WAIT = 20            # seconds a job may take to end after a rank is killed (measured: ~2 s)


def mpirun(np_, exe, args, **kw):
    return sh(MPIRUN + ["-np", np_, exe] + list(args), env=MPI_ENV, timeout=kw.pop("timeout", 300), **kw)


def mpi_must(np_, exe, args):
    r = mpirun(np_, exe, args)
    assert r.returncode == 0, f"mpirun -np {np_} {exe} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    if not shutil.which(MPICC) or not shutil.which("mpirun"):
        pytest.fail("mpicc/mpirun not found: make test-mpi installs Open MPI (libopenmpi-dev openmpi-bin)", pytrace=False)
    return tmp_path_factory.mktemp("mpi")


@pytest.fixture(scope="module")
def data(work):
    p = work / "shakespeare_64k.txt"
    p.write_bytes(open(os.path.join(REPO, "examples", "demo", "tinyshakespeare.txt"), "rb").read()[:65536])
    return p


def mpi_build(gen, fam, exe):
    must([MPICC] + CFLAGS + ["-DCK_MPI", "-I", REPO, "-I", gen, f'-DCK_MODEL_HEADER="{fam}.h"', f'-DCK_TRAIN_HEADER="{fam}_train.h"',
                             os.path.join(REPO, "examples", "train.c"), "-o", exe, "-lm"])
    return exe


@pytest.fixture(scope="module")
def llama(work):
    """(gguf, one-process trainer, MPI trainer) of test_train.py's llama"""
    gguf, gen, exe = build_trainer(work, "llama")
    return gguf, exe, mpi_build(gen, "llama", work / "train_llama_mpi")


ARGS = ["-b", B, "-t", T, "--lr", "1e-3", "--warmup", "2", "--wd", "0.1", "--clip", "0.5", "--accum", ACCUM, "--eval-every", 5]


def run_args(gguf, data, out, steps=STEPS, extra=()):
    return ["--init", gguf, "--data", data, "--out", out, "--steps", steps] + ARGS + list(extra)


def val_losses(stdout):
    return [float(x) for x in re.findall(r"^step \d+/\d+ \| val loss ([-+0-9.eE]+)", stdout, re.M)]


def weight_diff(a, b):
    wa, wb = TR.read_weights(str(a)), TR.read_weights(str(b))
    assert wa.keys() == wb.keys()
    return max(float(np.abs(wa[k].astype(np.float64) - wb[k]).max()) for k in wa)


def rel(a, b):
    assert len(a) == len(b) and a, (a, b)
    return max(abs(x - y) / abs(y) for x, y in zip(a, b))


def same_files(d1, d2, names=("model.gguf", "train_state.bin")):
    return all(open(d1 / "ckpt" / f, "rb").read() == open(d2 / "ckpt" / f, "rb").read() for f in names)


def test_sum_is_rank_order(work):
    exe = work / "test_mpi_sum"
    must([MPICC] + [f for f in CFLAGS if f != "-fopenmp"] + ["-Wno-unused-function", "-DCK_MPI", "-I", REPO,
                                                             os.path.join(REPO, "tests", "test_mpi_sum.c"), "-o", exe])
    for n in (2, 3, 4):
        r = mpirun(n, exe, [])
        assert r.returncode == 0 and f"ok {n} ranks" in r.stdout, r.stdout + r.stderr
        print(r.stdout.strip())
        if n > 2:  # two floats add the same either way round; from 3 on the order shows
            assert int(re.search(r"differs in (\d+)", r.stdout).group(1)) > 100, "the test data does not depend on the order"


@pytest.fixture(scope="module")
def reference(work, llama, data):
    """one process, --accum 6, 20 steps"""
    gguf, exe, _ = llama
    r = must([exe] + run_args(gguf, data, work / "ref"))
    return r, work / "ref"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_n_ranks_match_one_process(work, llama, data, reference, n):
    gguf, _, exe = llama
    ref, ref_out = reference
    out = work / f"np{n}"
    r = mpi_must(n, exe, run_args(gguf, data, out))
    got, want = losses(r.stdout), losses(ref.stdout)
    assert len(got) == STEPS and len(want) == STEPS, r.stdout
    lr, vr, wd = rel(got, want), rel(val_losses(r.stdout), val_losses(ref.stdout)), weight_diff(out / "model.gguf", ref_out / "model.gguf")
    print(f"\n-np {n} vs 1 process, --accum {ACCUM}, {STEPS} steps: max loss rel diff {lr:.2e}, val loss {vr:.2e}, "
          f"max weight diff {wd:.2e}; loss {got[0]:.4f} -> {got[-1]:.4f}")
    assert lr <= LOSS_REL and vr <= LOSS_REL, f"-np {n}: losses {got} vs {want}"
    assert wd <= WEIGHT_TOL, f"-np {n}: weights differ by {wd:.2e}"
    assert got[-1] < got[0] - 0.3, f"the loss did not go down: {got}"
    if n == 1:  # one rank is the one-process program
        assert same_files(out, ref_out), "-np 1 differs from the program built without MPI"
    else:
        assert f"{n} MPI ranks, {ACCUM // n} micro-batches each per step" in r.stderr and f"; {n} ranks, all-reduce" in r.stderr, r.stderr
        assert r.stdout.count("val loss") == STEPS // 5, "a rank other than 0 printed"


def test_same_n_is_bit_identical(work, llama, data):
    gguf, _, exe = llama
    a = mpi_must(3, exe, run_args(gguf, data, work / "bit_a", steps=8))
    b = mpi_must(3, exe, run_args(gguf, data, work / "bit_b", steps=8))
    assert losses(a.stdout) == losses(b.stdout) and len(losses(a.stdout)) == 8
    assert same_files(work / "bit_a", work / "bit_b"), "two -np 3 runs wrote different checkpoints"


def test_resume_with_another_n(work, llama, data, reference):
    gguf, one, exe = llama
    ref, ref_out = reference
    part = work / "part"
    r = mpi_must(2, exe, run_args(gguf, data, part, extra=["--stop-at", 10]))
    assert losses(r.stdout) == losses(mpi_must(2, exe, run_args(gguf, data, work / "np2b")).stdout)[:10]
    resumed = {}
    for how in ("np3", "one"):
        d = work / f"resume_{how}"
        shutil.copytree(part, d, symlinks=True)
        args = ["--data", d.parent / data.name, "--out", d, "--steps", STEPS, "--resume"] + ARGS
        rr = mpi_must(3, exe, args) if how == "np3" else must([one] + args)
        got = losses(rr.stdout)
        assert len(got) == STEPS - 10, rr.stdout
        lr, wd = rel(got, losses(ref.stdout)[10:]), weight_diff(d / "model.gguf", ref_out / "model.gguf")
        print(f"\nstopped at 10 with -np 2, resumed with {'-np 3' if how == 'np3' else '1 process'}: max loss rel diff {lr:.2e} "
              f"vs the uninterrupted 1-process run, max weight diff {wd:.2e}")
        assert lr <= LOSS_REL and wd <= WEIGHT_TOL
        resumed[how] = got
    # and a resume with -np 2 again is the uninterrupted -np 2 run bit for bit
    d = work / "resume_np2"
    shutil.copytree(part, d, symlinks=True)
    mpi_must(2, exe, ["--data", data, "--out", d, "--steps", STEPS, "--resume"] + ARGS)
    assert same_files(d, work / "np2b"), "a -np 2 resume differs from the uninterrupted -np 2 run"


@contextlib.contextmanager
def long_run(exe, gguf, data, out, n, log, extra=()):
    """mpirun -np n of a long run, stdout to log: the Popen once rank 0 printed a step; whatever
    still runs at the end (a failed test) is killed, the ranks first"""
    env = dict(os.environ, **MPI_ENV)
    p = subprocess.Popen([str(a) for a in MPIRUN + ["-np", n, exe] + run_args(gguf, data, out, steps=100000, extra=extra)],
                         stdout=open(log, "w"), stderr=subprocess.PIPE, text=True, env=env)
    try:
        t0 = time.time()
        while "step 2/" not in open(log).read():
            assert p.poll() is None and time.time() - t0 < 60, "the run did not start"
            time.sleep(0.05)
        yield p
    finally:
        if p.poll() is None:
            for k in ranks_of(p.pid):
                os.kill(k, signal.SIGKILL)
            p.kill()
            p.wait()


def ranks_of(mpirun_pid):
    """the pids of mpirun's children (the ranks, started by mpirun itself on one host)"""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == mpirun_pid:
                kids.append(int(d))
    return sorted(kids)


@pytest.mark.parametrize("target,sig", [("rank", signal.SIGTERM), ("mpirun", signal.SIGUSR1)])
def test_stop_signal_stops_every_rank(work, llama, data, target, sig):
    gguf, _, exe = llama
    out = work / f"stop_{target}"
    with long_run(exe, gguf, data, out, 2, work / f"stop_{target}.log") as p:
        if target == "rank":
            kids = ranks_of(p.pid)
            assert len(kids) == 2, kids
            os.kill(kids[-1], sig)
        else:
            p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    m = re.search(r"stopped by (\w+) after step (\d+) of 100000", err)
    assert p.returncode == 75 and m and m.group(1) == sig.name, f"exit {p.returncode}:\n{err}"
    assert os.readlink(out / "ckpt") == f"ckpt-{int(m.group(2)):08d}", err
    assert "under mpirun, with any -np that divides --accum" in err
    k = int(m.group(2))
    r = mpi_must(3, exe, ["--data", data, "--out", out, "--steps", 100000, "--stop-at", k + 2, "--resume"] + ARGS)
    assert [int(x) for x in re.findall(r"^step (\d+)/\d+ \| loss", r.stdout, re.M)] == [k + 1, k + 2], r.stdout


def test_killed_rank_ends_the_job(work, llama, data):
    gguf, _, exe = llama
    with long_run(exe, gguf, data, work / "killed", 3, work / "killed.log") as p:
        kids = ranks_of(p.pid)
        assert len(kids) == 3, kids
        t0 = time.time()
        os.kill(kids[1], signal.SIGKILL)
        try:
            _, err = p.communicate(timeout=KILL_WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"mpirun still runs {KILL_WAIT} s after a rank was killed")
        took = time.time() - t0
    print(f"\na rank killed with SIGKILL: mpirun ended after {took:.1f} s with exit {p.returncode}")
    assert p.returncode != 0 and "exited on signal 9 (Killed)" in err, err
    assert all(not os.path.exists(f"/proc/{k}") or open(f"/proc/{k}/stat").read().split(")")[1].split()[0] == "Z" for k in kids), "a rank survived"


def test_checkpoint_failure_on_rank_0_ends_the_job(work, llama, data):
    """rank 0 cannot write its checkpoint (OUT/.ckpt-new is a file): its error, then MPI_Abort ends every rank"""
    gguf, _, exe = llama
    out = work / "ckfail"
    with long_run(exe, gguf, data, out, 2, work / "ckfail.log", extra=["--save-every", 300]) as p:
        (out / ".ckpt-new").write_text("in the way")
        _, err = p.communicate(timeout=60)
    assert p.returncode != 0 and "cannot create" in err and ".ckpt-new" in err, err
    assert "train: rank 0 failed: aborting all 2 ranks" in err, err
    assert re.findall(r"^step (\d+)/\d+ \| loss", open(work / "ckfail.log").read(), re.M)[-1] == "300", "the job went on after step 300"


def test_ranks_that_differ_are_refused(work, llama, data):
    gguf, one, exe = llama
    other = work / "other_seed.gguf"
    from test_train import COMMON, FAMILIES
    must([tool("mkmodel"), "llama", other] + COMMON + FAMILIES["llama"] + ["--seed", "8"])
    data2 = work / "data2.txt"
    data2.write_bytes(open(data, "rb").read()[:-1] + b"!")
    base = run_args(gguf, data, work / "refused", steps=2)

    def mpmd(args0, args1, n1=1):
        return sh(MPIRUN + ["-np", 1, exe] + args0 + [":", "-np", n1, exe] + args1, env=MPI_ENV, timeout=120)

    def swap(old, new):
        return [new if a == old else a for a in base]

    for other_args, msg in [(swap("1e-3", "0.0003"), "rank 1 has --lr 0.0003, rank 0 has 0.001"),
                            (swap(gguf, other), "rank 1's --init weights differs from rank 0's"),
                            (swap(data, data2), "rank 1's --data differs from rank 0's"),
                            (base + ["--stop-at", "1"], "rank 1 has --stop-at 1, rank 0 has 0")]:
        r = mpmd(base, other_args)
        assert r.returncode == 2 and msg in r.stderr, f"expected '{msg}':\n{r.stderr}"
        assert "every rank must be started with the same files and options" in r.stderr
    r = mpirun(4, exe, base)
    assert r.returncode == 2 and "--accum 6 is not a multiple of the 4 MPI ranks" in r.stderr, r.stderr
    r = mpirun(2, one, base)
    assert r.returncode == 2 and "started as one of 2 MPI processes, but this program was built without MPI" in r.stderr, r.stderr
    # a rank that cannot start (its data file is missing) ends the others
    r = mpmd(base, [a if a != data else work / "missing.txt" for a in base], n1=2)
    assert r.returncode == 1 and "missing.txt" in r.stderr and "another rank failed to start" in r.stderr, r.stderr


def test_lora_ranks_match_one_process(work, data, llama):
    """a LoRA trainer built by ck build --train --lora 4 --mpi; beside a full trainer of the same model: refused"""
    gguf, gen, one = build_trainer(work, "llama", lora=("--lora", "4"))
    must([tool("ck"), "build", gguf, "-o", work / "ck_lora_mpi", "--train", f"{B}x{T}", "--lora", 4, "--mpi"])
    exe = work / "ck_lora_mpi" / "train"
    args = ["--init", gguf, "--data", data, "--steps", 10, "-b", B, "-t", T, "--lr", "1e-2", "--accum", 4]
    ref = must([one, "--out", work / "lora_ref"] + args)
    r = mpi_must(2, exe, ["--out", work / "lora_np2"] + args)
    lr = rel(losses(r.stdout), losses(ref.stdout))
    wd = weight_diff(work / "lora_np2" / "adapter.gguf", work / "lora_ref" / "adapter.gguf")
    print(f"\nLoRA rank 4, -np 2 vs 1 process, --accum 4, 10 steps: max loss rel diff {lr:.2e}, max adapter diff {wd:.2e}")
    assert len(losses(r.stdout)) == 10 and lr <= LOSS_REL and wd <= WEIGHT_TOL
    assert losses(r.stdout)[-1] < losses(r.stdout)[0] and "2 MPI ranks" in r.stderr
    r = sh(MPIRUN + ["-np", 1, llama[2], "--out", work / "mixed"] + args + [":", "-np", 1, exe, "--out", work / "mixed"] + args,
           env=MPI_ENV, timeout=120)
    assert r.returncode == 2 and "rank 1's program's model layout (ckgen) differs from rank 0's" in r.stderr, r.stderr
    r = sh([tool("ck"), "build", gguf, "-o", work / "ck_no_train", "--mpi"])
    assert r.returncode == 2 and "--mpi is an option of --train" in r.stderr, r.stderr
