"""`ck view`: the page, opened in a real browser (Debian's chromium, headless).

The DOM chromium builds (its --dump-dom runs the page's script) is checked against ckgen's own output for
the same file, generated here apart from ck view: every buffer of layout.json with its size, the weight
types, the op count per mode against the generated program (prefill and decode: the NAME_ops table the
capture uses; train forward and backward: the canary checks after each op in NAME_train.h), each op's C
line and DSL line holding that op; a screenshot decoded here (zlib, PNG filters) must not be blank. A
model ckgen refuses gives a page showing the refusal and exit status 1; an -o that cannot be written is an
error naming it. Without chromium the tests fail and say how to install it (make deps installs it).
"""
import json
import os
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

from test_models import FAMILIES, Toolchain, sh

CHROMIUM = shutil.which("chromium")
TRAIN_SECTIONS = ["weights", "lora adapters", "gradients", "adam m", "adam v", "saved activations", "scratch"]


def browser(*args):
    if not CHROMIUM:
        pytest.fail("chromium not found: `make deps` installs it (apt-get install --no-install-recommends chromium)",
                    pytrace=False)
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def tc(tmp_path_factory):
    return Toolchain(str(tmp_path_factory.mktemp("view")))


@pytest.fixture(scope="module")
def viewed(tc):
    """a Q4_K_M llama (a mix of q4_K, q6_K and f32), its page with --train 2x16 --lora 4, the DOM
    chromium made of it, and ckgen's files for the same model and options in ref/"""
    d = tc.work
    gguf = tc.mkmodel(os.path.join(d, "m.gguf"), "llama", "q4_k_m")
    page = os.path.join(d, "m.html")
    r = sh([tc.ck, "view", gguf, "-o", page, "--train", "2x16", "--lora", "4"])
    assert r.returncode == 0, r.stderr
    ref = os.path.join(d, "ref")
    r = tc.ckgen(gguf, ref, extra=["--train", "--train-batch", "2", "--train-seq", "16", "--lora", "4", "--no-bump"])
    assert r.returncode == 0, r.stderr
    return page, browser("--dump-dom", "file://" + page), ref


def attrs(tag):
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def test_every_buffer_with_its_size(viewed):
    page, dom, ref = viewed
    layout = json.load(open(os.path.join(ref, "layout.json")))
    rows = re.findall(r'<tr class="buffer"[^>]*>.*?</tr>', dom)
    shown = []
    for row in rows:
        a = attrs(row[:row.index(">")])
        cell = re.search(r'<td class="bytes">(\d+)</td>', row).group(1)
        assert cell == a["data-bytes"], row
        shown.append((a["data-region"], a["data-name"], a["data-role"], int(cell)))
    want = [(b["region"], b["name"], b["role"], b["bytes"]) for b in layout["buffers"]]
    assert sorted(shown) == sorted(want)
    # q and o are one buffer's bytes at different times (liveness reuse): the page says so
    q = next(r for r in rows if 'data-name="q"' in r and "prefill_activation" in r)
    assert re.search(r"<td>[^<]*\bo\b[^<]*</td></tr>$", q), q


def test_weight_types_per_layer(viewed):
    page, dom, ref = viewed
    layout = json.load(open(os.path.join(ref, "layout.json")))
    header = re.search(r'<table class="types">.*?</table>', dom).group(0)
    names = re.findall(r"<th>([^<]*)</th>", header)[1:]
    for row in re.findall(r'<tr class="layer-types">(.*?)</tr>', header):
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        layer = int(cells[0])
        for n, t in zip(names, cells[1:]):
            b = next(b for b in layout["buffers"] if b["name"] == f"blk.{layer}.{n}")
            assert t == b["dtype"], (layer, n)
    types = {b["dtype"] for b in layout["buffers"] if b["region"] == "weights"}
    assert len(types) >= 3 and len(re.findall(r'<tr class="dtype-total">', dom)) == len(types)



def test_tied_weight_counted_once(tc, tmp_path):
    """the per-type totals count a tensor two names share (qwen2's tied token_embd/output) once:
    they add up to the file's tensor bytes"""
    from oracle import gguf as G
    gguf = tc.mkmodel(str(tmp_path / "q.gguf"), "qwen2", "q8_0")
    page = str(tmp_path / "q.html")
    r = sh([tc.ck, "view", gguf, "-o", page])
    assert r.returncode == 0, r.stderr
    dom = browser("--dump-dom", "file://" + page)
    rows = re.findall(r'<tr class="dtype-total">(.*?)</tr>', dom)
    total = sum(int(re.findall(r"<td[^>]*>([^<]*)</td>", row)[2]) for row in rows)
    assert total == sum(len(t.data) for t in G.read(gguf).tensors), total

def program_op_counts(ref, name):
    """ops per mode as the generated program counts them: the op table (prefill, decode, and the training
    forward, which runs the same op list) and the canary check after each backward op (a view has no
    code, hence no check: the table's views are added)"""
    header = open(os.path.join(ref, name + ".h")).read()
    train = open(os.path.join(ref, name + "_train.h")).read()
    n_ops = int(re.search(r"static const ck_op_info %s_ops\[(\d+)\]" % name, header).group(1))
    table = header[header.index("%s_ops[" % name):]
    views = len(re.findall(r'\{ "view", ', table[:table.index("};")]))
    return {"prefill": n_ops, "decode": n_ops, "train-forward": n_ops,
            "backward": len(re.findall(r'M_TCHECK\(A, "backward OP\(', train)) + views}


def shown_op_counts(dom):
    return {m: int(n) for m, n in re.findall(r'data-mode="([\w-]+)" data-ops="(\d+)"', dom)}


def test_op_count_per_mode_and_lines(viewed):
    page, dom, ref = viewed
    header = open(os.path.join(ref, "m.h")).read()
    want = program_op_counts(ref, "m")
    n_ops = want["prefill"]
    assert shown_op_counts(dom) == want
    assert all(v > 0 for v in want.values())
    dsl = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "llama.h")).read()
    dsl_lines, c_lines = dsl.split("\n"), header.split("\n")
    prefill = dom[dom.index('data-mode="prefill"'):dom.index('data-mode="decode"')]
    items = re.findall(r'<li class="op" data-c-line="(\d+)" data-dsl-line="(\d+)">.*?<code>(OP\([^<]*\))</code>', prefill)
    assert len(items) == n_ops
    for c, d, sig in items:  # the C line is that op's comment; the DSL line declares it
        assert sig in c_lines[int(c) - 1], (c, sig)
        assert re.sub(r"\s", "", sig) in re.sub(r"\s", "", dsl_lines[int(d) - 1]), (d, sig)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_ops_and_dsl_lines(tc, tmp_path, family):
    """f32 (a full trainer): every mode's op count is the program's, every op has its DSL line"""
    gguf = tc.mkmodel(str(tmp_path / "m.gguf"), family, "f32")
    page = str(tmp_path / "m.html")
    r = sh([tc.ck, "view", gguf, "-o", page, "--train", "2x8"])
    assert r.returncode == 0, r.stderr
    ref = str(tmp_path / "ref")
    r = tc.ckgen(gguf, ref, extra=["--train", "--train-batch", "2", "--train-seq", "8", "--no-bump"])
    assert r.returncode == 0, r.stderr
    dom = browser("--dump-dom", "file://" + page)
    assert shown_op_counts(dom) == program_op_counts(ref, "m")
    lines = re.findall(r'<li class="op" data-c-line="(\d+)" data-dsl-line="(\d+)">', dom)
    assert lines and all(int(c) > 0 and int(d) > 0 for c, d in lines)


def test_training_arena_sections(viewed):
    page, dom, ref = viewed
    shown = re.findall(r'<tr class="train-section" data-name="([^"]*)" data-bytes="(\d+)"', dom)
    assert [n for n, _ in shown] == TRAIN_SECTIONS
    train = open(os.path.join(ref, "m_train.h")).read()
    for n, b in shown:
        assert re.search(r'\{ "%s", 0x[0-9a-f]+, %s \}' % (n, b), train), n


def png_pixels(path):
    """the pixels of an 8-bit RGB/RGBA PNG as an (H, W, C) uint8 array: chunks, zlib, the five row filters"""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * bpp)
    out = np.zeros((h, w * bpp), np.uint8)
    prev = np.zeros(w * bpp, np.int32)
    for y in range(h):
        f, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = row
        elif f == 1:  # Sub: a running sum per channel
            cur = np.cumsum(row.reshape(w, bpp), axis=0).reshape(-1) & 255
        elif f == 2:  # Up
            cur = (row + prev) & 255
        else:  # Average, Paeth: each byte needs the one left of it
            cur, r, p = [0] * (w * bpp), row.tolist(), prev.tolist()
            for i in range(w * bpp):
                a = cur[i - bpp] if i >= bpp else 0
                if f == 3:
                    cur[i] = (r[i] + ((a + p[i]) >> 1)) & 255
                else:
                    c = p[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(p[i] - c), abs(a - c), abs(a + p[i] - 2 * c)
                    cur[i] = (r[i] + (a if pa <= pb and pa <= pc else p[i] if pb <= pc else c)) & 255
            cur = np.array(cur, np.int32)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)


def test_screenshot_is_not_blank(viewed, tmp_path):
    page, dom, ref = viewed
    shot = str(tmp_path / "view.png")
    browser("--screenshot=" + shot, "--window-size=1000,900", "file://" + page)
    px = png_pixels(shot)
    assert px.shape[:2] == (900, 1000)
    colours = {tuple(c) for c in px[:, :, :3].reshape(-1, 3)[::7].tolist()}
    # the page's text, tables and arena bars: far more than a blank or error page's few colours
    assert len(colours) > 50, len(colours)
    # and not one colour over most of it: the most common colour (the background) covers under 90%
    flat = px[:, :, :3].reshape(-1, 3)
    _, counts = np.unique(flat, axis=0, return_counts=True)
    assert counts.max() < 0.9 * len(flat), counts.max() / len(flat)


@pytest.mark.parametrize("what", ["quantized-train", "not-gguf"])
def test_refused_model_gives_a_page_with_the_refusal(tc, tmp_path, what):
    if what == "quantized-train":  # ckgen: --train needs f32 master weights (or --lora)
        gguf, extra, says = tc.mkmodel(str(tmp_path / "q.gguf"), "llama", "q4_k_m"), ["--train", "2"], "needs f32 weights"
    else:
        gguf, extra, says = str(tmp_path / "junk.gguf"), [], "junk.gguf"
        open(gguf, "wb").write(b"not a gguf file at all" * 10)
    page = str(tmp_path / "refused.html")
    r = sh([tc.ck, "view", gguf, "-o", page] + extra)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert says in r.stderr
    dom = browser("--dump-dom", "file://" + page)
    refusal = re.search(r'<pre id="refusal"[^>]*>(.*?)</pre>', dom, re.S).group(1)
    assert says in refusal and "ckgen refused" in dom


def test_unwritable_output_is_named(tc, tmp_path):
    gguf = tc.mkmodel(str(tmp_path / "m.gguf"), "llama", "f32")
    out = str(tmp_path / "no-such-dir" / "v.html")
    r = sh([tc.ck, "view", gguf, "-o", out])
    assert r.returncode != 0 and out in r.stderr, r.stderr


def test_profile(tc, tmp_path):
    """ck view --profile: run --profile's times, FLOPs and bytes, one row per op and layer of the prefill and of
    the decode steps (views have no code, no time), each time >= 0 and adding up to no more than the phase it
    was measured in; every row shows GFLOP/s, GB/s and the two % columns, which are its pass's FLOPs and bytes
    over its time against the measured peaks shown on the page; the per-layer totals add up"""
    gguf = tc.mkmodel(str(tmp_path / "m.gguf"), "llama", "q4_k_m")
    page = str(tmp_path / "m.html")
    env = {"CK_CFLAGS": "-O0 " + os.environ.get("CK_TEST_ARCH", "-march=native")}  # the times, not their speed
    r = sh([tc.ck, "view", gguf, "-o", page, "--profile"], env=env)
    assert r.returncode == 0, r.stderr
    ref = str(tmp_path / "ref")
    assert tc.ckgen(gguf, ref, extra=["--no-bump"]).returncode == 0
    header = open(os.path.join(ref, "m.h")).read()
    table = header[header.index("m_ops["):]
    ops = re.findall(r'\{ "(\w+)", "\w+", "[^"]*", "[^"]*", "[^"]*", (\d), \d+ \}', table[:table.index("};")])
    n_layer = int(re.search(r"#define M_N_LAYER\s+(\d+)", header).group(1))
    want = {(i, l) for i, (op, sec) in enumerate(ops) if op != "view" for l in (range(n_layer) if int(sec) == 1 else [-1])}
    dom = browser("--dump-dom", "file://" + page)
    peak = float(re.search(r'<b id="peak-gflops" data-value="([\d.]+)">', dom).group(1))
    bw = float(re.search(r'<b id="peak-gbps" data-value="([\d.]+)">', dom).group(1))
    assert peak > 0 and bw > 0
    for phase in ("prefill", "decode"):
        assert f'id="profile-{phase}"' in dom, phase
        rows = re.findall(r'<tr class="prof-op" data-phase="%s" data-index="(\d+)" data-layer="(-?\d+)" data-seconds="([^"]+)">(.*?)</tr>'
                          % phase, dom)
        assert {(int(i), int(l)) for i, l, _, _ in rows} == want and len(rows) == len(want), phase
        seconds = [float(s) for _, _, s, _ in rows]
        total = float(re.search(r"<h3>%s: ([\d.]+) ms" % phase, dom).group(1)) / 1e3
        assert min(seconds) >= 0 and 0 < sum(seconds) <= total + 1e-6, phase
        for _, _, _, cells in rows:
            gf, gb, pp, pb = (re.search(r'<td class="%s">([^<]+)</td>' % c, cells).group(1) for c in ("gflops", "gbps", "pct-peak", "pct-bw"))
            assert float(gf) >= 0 and float(gb) >= 0 and pp.endswith("%") and pb.endswith("%"), cells
            assert abs(float(pp[:-1]) - 100 * float(gf) / peak) <= 0.1 + 1e-3 * float(pp[:-1]), cells
            assert abs(float(pb[:-1]) - 100 * float(gb) / bw) <= 0.1 + 1e-3 * float(pb[:-1]), cells
        matmuls = [c for _, l, _, c in rows if "<td>matmul</td>" in c]
        assert matmuls and all(float(re.search(r'<td class="gflops">([^<]+)</td>', c).group(1)) > 0 for c in matmuls), phase
        layers = re.findall(r'<tr class="prof-layer" data-layer="(-?\d+)"><td>-?\d+</td><td>([\d.]+)</td>', dom[dom.index(f'id="profile-{phase}"'):])
        assert [int(l) for l, _ in layers[:n_layer + 1]] == list(range(-1, n_layer)), layers


def test_profile_option_refusals(tc, tmp_path):
    gguf = tc.mkmodel(str(tmp_path / "m.gguf"), "llama", "f32")
    d = str(tmp_path / "out")
    assert tc.ckgen(gguf, d).returncode == 0
    run = tc.compile(d, "fast")
    bad = str(tmp_path / "no-such-dir" / "p.json")
    for extra, says in [(["--profile", bad], bad), (["--profile", "p.json", "--logit-lens"], "--logit-lens"),
                        (["--profile", "p.json", "--temp", "0.5"], "--temp does not apply with --profile"),
                        (["--profile", "p.json", "-n", "62"], "-n 62: the prompt's 3 tokens leave 61 of the 64 positions"), (["--profile", ""], "--profile ''")]:
        r = sh([run, "-m", gguf, "--tokens", "1,2,3"] + extra, env=None)
        assert r.returncode == 2 and says in r.stderr, (extra, r.stderr)
