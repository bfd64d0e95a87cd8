"""Fixtures for the ckernel PyTorch parity suite.

* ``lib``   -- the ckernel library, parametrized over both builds ("simd", "scalar").
               A missing .so is a hard failure, never a skip.
* ``rng``   -- numpy Generator with a fixed seed per test (same inputs for both builds).
* ``check`` -- compares a kernel output with its float64 reference, asserts no NaN/Inf and a
               tolerance, and records the max diff per kernel/build for the summary table that
               ``pytest_terminal_summary`` prints at the end of the run.
"""
import os
import sys
import zlib

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from oracle.ckernel import CKernel, LIBRARY_NAMES, library_path  # noqa: E402

BUILDS = ("simd", "scalar")
_LIBS = {}

# (kernel, build, mode) -> max metric;  mode "abs" (unit-scale cases) or "rel" (large-magnitude cases)
MAX_DIFFS = {}


@pytest.fixture(scope="session", params=BUILDS)
def lib(request):
    build = request.param
    if build not in _LIBS:
        path = library_path(build)
        if not os.path.exists(path):
            pytest.fail(f"ckernel {build} library not found at {path}: run "
                        f"`make build/{LIBRARY_NAMES[build]}` (or set CK_BUILD_DIR)", pytrace=False)
        _LIBS[build] = CKernel(path, name=build)
    return _LIBS[build]


@pytest.fixture
def rng(request):
    """Seed = crc32(test name + non-build parameters): fixed per test, identical across builds."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    key = request.node.originalname + repr(sorted((k, repr(v)) for k, v in params.items() if k != "lib"))
    return np.random.default_rng(zlib.crc32(key.encode()))


def _record(kernel, build, mode, value):
    k = (kernel, build, mode)
    MAX_DIFFS[k] = max(MAX_DIFFS.get(k, 0.0), value)


@pytest.fixture
def check(lib):
    """check(kernel, got, expected, tol=1e-5, rel=False, what="")

    abs criterion: max|got - expected| < tol
    rel criterion: max|got - expected| / max(1, max|expected|) < tol   (large-magnitude cases)
    """
    def _check(kernel, got, expected, tol=1e-5, rel=False, what=""):
        got = np.asarray(got, dtype=np.float64)
        exp = np.asarray(expected, dtype=np.float64)
        label = f"{kernel}[{lib.name}]{(' ' + what) if what else ''}"
        assert got.shape == exp.shape, f"{label}: shape {got.shape} != expected {exp.shape}"
        mode = "rel" if rel else "abs"
        assert np.all(np.isfinite(exp)), f"{label}: reference is not finite (test bug)"
        if not np.all(np.isfinite(got)):
            _record(kernel, lib.name, mode, float("inf"))
            bad = np.argwhere(~np.isfinite(got))
            raise AssertionError(f"{label}: {len(bad)} non-finite values, first at {tuple(bad[0])}: "
                                 f"got {got[tuple(bad[0])]!r}, expected {exp[tuple(bad[0])]!r}")
        if got.size == 0:
            return 0.0
        d = np.abs(got - exp)
        idx = np.unravel_index(np.argmax(d), d.shape)
        diff = float(d[idx])
        metric = diff / max(1.0, float(np.max(np.abs(exp)))) if rel else diff
        _record(kernel, lib.name, mode, metric)
        assert metric < tol, (f"{label}: max {'rel' if rel else 'abs'} diff {metric:.3e} >= tol {tol:.1e} "
                              f"at index {tuple(int(i) for i in idx)}: got {got[idx]!r}, expected {exp[idx]!r}")
        return metric
    return _check


# (table, row, column) -> (combine, value): free-form per-type statistics of the quantization
# tests (bit-exactness, RMSE ratios, identical-byte counts), printed after the max-diff table
QUANT_STATS = {}


@pytest.fixture
def qstat(lib):
    """qstat(table, row, column, value, how="max"|"min"|"sum"|"set"): record a statistic for
    build ``lib.name`` (the column is prefixed with the build)."""
    def _stat(table, row, column, value, how="max"):
        k = (table, row, f"{lib.name} {column}")
        old = QUANT_STATS.get(k, (how, None))[1]
        if old is None or how == "set":
            v = value
        elif how == "max":
            v = max(old, value)
        elif how == "min":
            v = min(old, value)
        else:
            v = old + value
        QUANT_STATS[k] = (how, v)
    return _stat


@pytest.fixture(scope="session")
def ck_bin():
    """path of the ck command-line tool (build/ck); missing is a hard failure"""
    from oracle.ckernel import build_dir
    path = os.path.join(build_dir(), "ck")
    if not os.path.exists(path):
        pytest.fail(f"ck tool not found at {path}: run `make build/ck`", pytrace=False)
    return path


def _print_quant_stats(tr):
    tables = sorted({t for t, _, _ in QUANT_STATS})
    for table in tables:
        rows = sorted({r for t, r, _ in QUANT_STATS if t == table})
        cols = sorted({c for t, _, c in QUANT_STATS if t == table})
        head = [table] + cols

        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, str):
                return v
            if isinstance(v, (bool,)):
                return "yes" if v else "NO"
            if isinstance(v, int):
                return str(v)
            return f"{v:.6g}"
        body = [[r] + [fmt(QUANT_STATS.get((table, r, c), (None, None))[1]) for c in cols] for r in rows]
        widths = [max(len(x[i]) for x in body + [head]) for i in range(len(head))]
        line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        tr.write_sep("-", table)
        tr.write_line(line(head))
        for r in body:
            tr.write_line(line(r))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if QUANT_STATS:
        _print_quant_stats(terminalreporter)
    if not MAX_DIFFS:
        return
    tr = terminalreporter
    kernels = sorted({k for k, _, _ in MAX_DIFFS})
    cols = [("simd", "abs"), ("scalar", "abs"), ("simd", "rel"), ("scalar", "rel")]
    head = ["kernel", "simd max abs", "scalar max abs", "simd max rel (large)", "scalar max rel (large)"]

    def fmt(v):
        return "-" if v is None else f"{v:.2e}"
    rows = [[k] + [fmt(MAX_DIFFS.get((k, b, m))) for b, m in cols] for k in kernels]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    tr.write_sep("=", "ckernel vs float64 PyTorch reference: max diff per kernel")
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    tr.write_line(line(head))
    tr.write_line(line(["-" * w for w in widths]))
    for r in rows:
        tr.write_line(line(r))
    tr.write_line("(abs: max|ck - ref| on unit-scale inputs; rel: max|ck - ref| / max(1, max|ref|) on "
                  "large-magnitude inputs and on outputs legitimately >> 1: norm rstd, grad_norm)")
