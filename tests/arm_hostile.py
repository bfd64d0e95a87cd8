"""The hostile corpus (tests/data/hostile, tests/test_hostile.py's cases) on AArch64 under qemu-aarch64.

Per ARM target, BUILD/arm/TARGET/ck and ckgen.aarch64 are the cross-built tools (make test-arm builds
them). qemu-user hands a guest's exec of another program to the host kernel, which cannot run an
AArch64 file without binfmt_misc; so next to them this script writes two shell wrappers the host runs:
  ckgen  exec qemu-aarch64 ... ckgen.aarch64   (ck runs its sibling ckgen)
  cc     the AArch64 cross compiler; the program it makes is replaced by a wrapper that execs qemu on
         it (ck run compiles examples/run.c with $CC, then runs it)
Every case (ck info, ck tokenize, ck run per file; ck run per hostile option list) must end exactly as
the x86 build/ck does: the same exit code, never a signal, and the same line of stderr carrying
test_hostile.py's message for the case (temporary directory names masked).
usage: arm_hostile.py BUILD_DIR NAME:CPU:FLAGS...
"""
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_hostile import BROKEN_FILES, BROKEN_TOKENIZERS, CORPUS, OPTIONS, RUN  # noqa: E402  (one copy of the corpus' cases)

ARM_CC = os.environ.get("ARM_CC", "aarch64-linux-gnu-gcc")
ARM_QEMU = os.environ.get("ARM_QEMU", "qemu-aarch64 -L /usr/aarch64-linux-gnu")
HOST_CC = os.environ.get("CC", "cc")


def write_exec(path, text):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + text)
    os.chmod(path, 0o755)


def wrappers(tdir, cpu):
    qemu = f"{ARM_QEMU} -cpu {cpu}"
    write_exec(os.path.join(tdir, "ckgen"), f'exec {qemu} "{tdir}/ckgen.aarch64" "$@"\n')
    write_exec(os.path.join(tdir, "cc"),
               "# the AArch64 cross compiler; its program OUT becomes OUT.aarch64 behind a qemu wrapper\n"
               'out=; prev=\nfor a; do [ "$prev" = -o ] && out=$a; prev=$a; done\n'
               f'{ARM_CC} "$@" || exit $?\n'
               '[ -n "$out" ] || exit 0\n'
               'mv "$out" "$out.aarch64" || exit 1\n'
               "# $0: ck renames the program's directory (temporary -> cache)\n"
               f'printf \'#!/bin/sh\\nexec {qemu} "$0.aarch64" "$@"\\n\' > "$out" && chmod +x "$out"\n')


def cases():
    """(id, ck arguments, message expected in stderr or None)"""
    out = []
    for name in sorted(RUN):
        path = os.path.join(CORPUS, name + ".gguf")
        out.append((f"info {name}", ["info", path], RUN[name] if name in BROKEN_FILES else None))
        out.append((f"tokenize {name}", ["tokenize", path, "Hello"],
                    RUN[name] if name in BROKEN_FILES or name in BROKEN_TOKENIZERS else None))
        out.append((f"run {name}", ["run", path, "-p", "Hi", "-n", "3"], RUN[name]))
    for args, says in OPTIONS:
        out.append((f"run ok.gguf {' '.join(args)[:40]}", ["run", os.path.join(CORPUS, "ok.gguf")] + args, says))
    out.append(("run ok.gguf (control)", ["run", os.path.join(CORPUS, "ok.gguf"), "-p", "Hi", "-n", "4", "--temp", "0"], None))
    return out


def run(runner, ck, args, env):
    e = dict(os.environ, OMP_NUM_THREADS="1")
    e.update(env)
    r = subprocess.run(runner + [ck] + args, capture_output=True, timeout=600, env=e)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def said(err, says):
    """the stderr line holding the expected message, temporary directory names masked"""
    lines = [re.sub(r"\.tmp-[^/ ]*", ".tmp-X", ln) for ln in err.splitlines() if says in ln]
    return lines[0] if lines else None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    t0 = time.time()
    bdir = os.path.abspath(sys.argv[1])
    host = os.path.join(bdir, "ck")
    targets = []
    for spec in sys.argv[2:]:
        name, cpu, flags = spec.split(":", 2)
        tdir = os.path.join(bdir, "arm", name)
        wrappers(tdir, cpu)
        targets.append((name, shlex.split(ARM_QEMU) + ["-cpu", cpu], os.path.join(tdir, "ck"),
                        {"CC": os.path.join(tdir, "cc"), "CK_CFLAGS": f"-O1 {flags}"}))
    pool = concurrent.futures.ThreadPoolExecutor(2)
    all_cases = cases()
    # the control first and alone: it compiles the corpus program once per build (ck's cache)
    for (name, runner, ck, env) in [("x86", [], host, {"CC": HOST_CC})] + targets:
        rc, out, err = run(runner, ck, all_cases[-1][1], env)
        if rc != 0 or not out.startswith("Hi"):
            sys.exit(f"arm hostile: the control (ck run ok.gguf) fails on {name} ({rc}):\n{out}\n{err}")
    ref = {c[0]: pool.submit(run, [], host, c[1], {"CC": HOST_CC}) for c in all_cases}
    got = {(t[0], c[0]): pool.submit(run, t[1], t[2], c[1], t[3]) for t in targets for c in all_cases}
    failed, n = [], 0
    for cid, args, says in all_cases:
        rrc, rout, rerr = ref[cid].result()
        if says is not None and (rrc in (0,) or says not in rerr):
            sys.exit(f"arm hostile: x86 build/ck {cid}: exit {rrc} without '{says}':\n{rerr}")
        for name, _, _, _ in targets:
            rc, out, err = got[(name, cid)].result()
            n += 1
            problems = []
            if rc < 0 or rc >= 128 or "killed by SIG" in err or "qemu: uncaught target signal" in err:
                problems.append(f"crashed (exit {rc})")
            if rc != rrc:
                problems.append(f"exit {rc}, x86 {rrc}")
            if says is not None and said(err, says) != said(rerr, says):
                problems.append(f"says {said(err, says)!r}, x86 {said(rerr, says)!r}")
            if says is None and out != rout:
                problems.append(f"stdout differs from x86:\n{out[:400]}\n---\n{rout[:400]}")
            if problems:
                failed.append(f"{name} {cid}")
                print(f"arm hostile: {name} {cid}: FAIL: {'; '.join(problems)}\n{err[-600:]}")
    print(f"arm hostile: {n - len(failed)}/{n} cases end as on x86 ({len(all_cases)} cases x {len(targets)} ARM builds of "
          f"ck, ckgen and the run program under qemu: same exit code and message, no signal) in {time.time() - t0:.0f} s")
    if failed:
        sys.exit(f"arm hostile: FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
