"""GGUF files and the ``ck`` tool (build/ck) against the independent Python reader/writer in
oracle/gguf.py and the numpy (de)quantizers in oracle/quant.py.

* ``ck info -n N FILE``: every key in order with its type, array length, scalar value (floats
  compared as float32) and first N array items equals what oracle.gguf reads; so does the tensor
  table (name, type, shape, offset, bytes).
* ``ck quantize IN OUT TYPE -q``: kv copied (except general.file_type and
  general.quantization_version, rewritten), matrices whose rows are a multiple of TYPE's block
  become TYPE with bytes equal to ck_quantize_row of the original rows, everything else f32 with
  identical values, tensor data aligned. ``ck dequantize``: every tensor f32, values equal to the
  numpy dequantization of the quantized file. Failures (missing / truncated input, IN == OUT)
  exit non-zero, name the file and leave no OUT or OUT.tmp behind.
"""
import glob
import os
import re
import subprocess
from collections import OrderedDict

import numpy as np
import pytest

from oracle import gguf as G
from oracle import quant as Q

f32 = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_FILES = sorted(glob.glob(os.path.join(HERE, "data", "vocab", "*.gguf")))
CLI_TYPES = ["f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q4_K", "q5_K", "q6_K", "iq4_nl"]
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q4_K": 14,
             "q5_K": 16, "q6_K": 18, "iq4_nl": 25, "bf16": 32}   # llama.cpp's LLAMA_FTYPE_MOSTLY_* (K: the _S variants)
REWRITTEN = ("general.file_type", "general.quantization_version")


def run(args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=300, **kw)


# =========================================================================== ck info parser
def _parse_quoted(s, i):
    """s[i] == '"': C-style escaped string -> (bytes, total length if truncated else None, new i)"""
    assert s[i] == '"', f"expected a quoted string at {s[i:i + 20]!r}"
    i += 1
    out = bytearray()
    while True:
        c = s[i]
        if c == '"':
            i += 1
            break
        if c == "\\":
            e = s[i + 1]
            if e == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out.append({"n": 10, "t": 9, "r": 13, '"': 34, "\\": 92, "0": 0}[e])
            i += 2
            continue
        out.append(ord(c))     # stdout decoded as latin-1: one char per byte
        i += 1
    total = None
    m = re.match(r"\.\.\.\((\d+) bytes\)", s[i:])
    if m:
        total = int(m.group(1))
        i += m.end()
    return bytes(out), total, i


def _parse_array(s, i):
    """s[i] == '[' -> (list of raw items, truncated?, new i); items: ('str', bytes, total) or
    ('tok', text)"""
    assert s[i] == "["
    i += 1
    items, more = [], False
    while s[i] != "]":
        if s[i] == '"':
            b, total, i = _parse_quoted(s, i)
            items.append(("str", b, total))
        elif s.startswith("...", i):
            more = True
            i += 3
        elif s.startswith("(nested arrays)", i):
            items.append(("nested",))
            i += len("(nested arrays)")
        else:
            m = re.match(r"[^,\]]+", s[i:])
            assert m, f"malformed array text at column {i}: {s!r}"
            items.append(("tok", m.group(0)))
            i += m.end()
        if s.startswith(", ", i):
            i += 2
    return items, more, i + 1


def parse_info(text):
    """ck info output -> (header dict, [(idx, key, type, raw value text)], [tensor dicts])"""
    lines = text.split("\n")
    m = re.match(r"^(.*): GGUF v(\d+), (\d+) bytes, (\d+) key/values, (\d+) tensors, alignment (\d+), "
                 r"data at offset (\d+)$", lines[0])
    assert m, f"unexpected header line {lines[0]!r}"
    header = dict(path=m.group(1), version=int(m.group(2)), size=int(m.group(3)), n_kv=int(m.group(4)),
                  n_tensors=int(m.group(5)), alignment=int(m.group(6)), data_offset=int(m.group(7)))
    kvs, tensors, section = [], [], None
    for line in lines[1:]:
        if line == "key/values:":
            section = "kv"
            continue
        if line == "tensors:":
            section = "tensors"
            continue
        if not line.strip():
            section = None
            continue
        if section == "kv":
            m = re.match(r"^\s+(\d+)  (\S+)\s+(\S+)\s+= (.*)$", line)
            assert m, f"unparsable kv line {line!r}"
            kvs.append((int(m.group(1)), m.group(2), m.group(3), m.group(4)))
        elif section == "tensors":
            if re.match(r"^\s+#\s+name", line):
                continue
            m = re.match(r"^\s+(\d+)  (\S+)\s+(\S+)\s+(\[[^\]]*\])\s+(\d+)\s+(\d+)$", line)
            assert m, f"unparsable tensor line {line!r}"
            tensors.append(dict(idx=int(m.group(1)), name=m.group(2), type=m.group(3),
                                shape=[int(v) for v in m.group(4)[1:-1].split(",") if v.strip()],
                                offset=int(m.group(5)), bytes=int(m.group(6))))
    return header, kvs, tensors


def _same_scalar(vtype, text, v, what):
    if vtype == G.BOOL:
        assert text == ("true" if v else "false"), f"{what}: {text!r} != {v!r}"
    elif vtype in (G.F32, G.F64):
        with np.errstate(over="ignore"):    # f64 beyond float32's range: inf on both sides
            got = f32(float(text))
            exp = f32(v)
        assert (np.isnan(got) and np.isnan(exp)) or got == exp, f"{what}: {text!r} != {v!r} (as float32)"
    else:
        assert int(text) == int(v), f"{what}: {text!r} != {v!r}"


def _same_str(b, total, v, limit, what):
    if total is None:
        assert b == v, f"{what}: {b!r} != {v!r}"
    else:
        assert total == len(v) and len(v) > limit and b == v[:limit], \
            f"{what}: truncated display {b!r}...({total}) does not match {v[:limit]!r} ({len(v)} bytes)"


def compare_info(text, g, n_items, path=None):
    """assert that `ck info -n n_items` output describes the file oracle.gguf read as g"""
    header, kvs, tensors = parse_info(text)
    assert header["version"] == g.version
    assert header["size"] == g.size
    assert header["n_kv"] == g.n_kv == len(kvs), f"n_kv: header {header['n_kv']}, lines {len(kvs)}, reader {g.n_kv}"
    assert header["n_tensors"] == g.n_tensors == len(tensors)
    assert header["alignment"] == g.alignment
    if g.n_tensors:
        assert header["data_offset"] == g.data_offset
    keys = list(g.kv)
    assert [k for _, k, _, _ in kvs] == keys, "keys (or their order) differ"
    for (idx, key, tname, raw), (k, v) in zip(kvs, g.kv.items()):
        what = f"{os.path.basename(path or '')}: {key}"
        assert tname == v.type_name(), f"{what}: type {tname} != {v.type_name()}"
        if v.type == G.STR:
            b, total, end = _parse_quoted(raw, 0)
            assert end == len(raw.rstrip()), f"{what}: trailing text after the string: {raw[end:]!r}"
            _same_str(b, total, v.value, 200, what)
        elif v.type == G.ARR:
            items, more, end = _parse_array(raw, 0)
            shown = min(n_items, len(v.value))
            if v.arr_type == G.ARR:
                assert items == [("nested",)], f"{what}: nested array shown as {raw!r}"
                continue
            assert len(items) == shown, f"{what}: {len(items)} items shown, expected {shown}"
            assert more == (len(v.value) > shown), f"{what}: '...' marker wrong ({raw[-20:]!r})"
            for j, (it, ev) in enumerate(zip(items, v.value)):
                if v.arr_type == G.STR:
                    assert it[0] == "str", f"{what}[{j}]: {it}"
                    _same_str(it[1], it[2], ev, 40, f"{what}[{j}]")
                else:
                    assert it[0] == "tok"
                    _same_scalar(v.arr_type, it[1], ev, f"{what}[{j}]")
        else:
            _same_scalar(v.type, raw.strip(), v.value, what)
    for tl, t in zip(tensors, g.tensors):
        assert tl["name"].encode("latin-1") == t.name
        assert tl["type"] == Q.TYPE_BY_ID[t.type], f"{t.name!r}: type {tl['type']} != {Q.TYPE_BY_ID[t.type]}"
        assert tuple(tl["shape"]) == tuple(t.ne), f"{t.name!r}: shape {tl['shape']} != {t.ne}"
        assert tl["offset"] == t.offset and tl["bytes"] == t.n_bytes, f"{t.name!r}: offset/bytes"
    return header, kvs, tensors


def ck_info(ck_bin, path, n=None):
    args = [ck_bin, "info", path] + (["-n", str(n)] if n is not None else [])
    r = run(args)
    assert r.returncode == 0, f"ck info {path} failed ({r.returncode}): {r.stderr.decode(errors='replace')}"
    return r.stdout.decode("latin-1")


# =========================================================================== python reader/writer self-check
ALL_KV = OrderedDict([
    ("general.architecture", G.Value(G.STR, b"testarch")),
    ("general.name", G.Value(G.STR, b"ck test model")),
    ("t.u8", G.Value(G.U8, 200)),
    ("t.i8", G.Value(G.I8, -100)),
    ("t.u16", G.Value(G.U16, 65535)),
    ("t.i16", G.Value(G.I16, -32768)),
    ("t.u32", G.Value(G.U32, 4294967295)),
    ("t.i32", G.Value(G.I32, -2147483648)),
    ("t.f32", G.Value(G.F32, float(f32(3.14159274)))),
    ("t.f32.tiny", G.Value(G.F32, float(f32(1e-45)))),
    ("t.f32.negzero", G.Value(G.F32, -0.0)),
    ("t.f32.big", G.Value(G.F32, float(f32(3.4028235e38)))),
    ("t.bool.true", G.Value(G.BOOL, True)),
    ("t.bool.false", G.Value(G.BOOL, False)),
    ("t.str", G.Value(G.STR, b'he said "hi"\n\ttab \\ back \x01\x7f caf\xc3\xa9')),
    ("t.str.empty", G.Value(G.STR, b"")),
    ("t.str.long", G.Value(G.STR, b"0123456789" * 30)),
    ("t.u64", G.Value(G.U64, 2**64 - 1)),
    ("t.i64", G.Value(G.I64, -2**63)),
    ("t.f64", G.Value(G.F64, 2.718281828459045)),
    ("t.arr.u8", G.Value(G.ARR, [0, 1, 255, 7, 9], G.U8)),
    ("t.arr.i8", G.Value(G.ARR, [-128, 127, 0, -1], G.I8)),
    ("t.arr.u16", G.Value(G.ARR, [65535, 0, 1], G.U16)),
    ("t.arr.i16", G.Value(G.ARR, [-32768, 32767, 5, 6, 7, 8, 9, 10, 11, 12], G.I16)),
    ("t.arr.u32", G.Value(G.ARR, list(range(100)), G.U32)),
    ("t.arr.i32", G.Value(G.ARR, [-5, 5, -2147483648], G.I32)),
    ("t.arr.f32", G.Value(G.ARR, [float(f32(v)) for v in (0.1, -2.5, 1e-40, 6.5e4, 1 / 3, 7)], G.F32)),
    ("t.arr.bool", G.Value(G.ARR, [True, False, True, True], G.BOOL)),
    ("t.arr.str", G.Value(G.ARR, [b"a", b"", b'q"uo\\te\n', b"x" * 50, b"\xe2\x96\x81hello"], G.STR)),
    ("t.arr.u64", G.Value(G.ARR, [2**64 - 1, 0, 2**40], G.U64)),
    ("t.arr.i64", G.Value(G.ARR, [-2**63, 2**63 - 1], G.I64)),
    ("t.arr.f64", G.Value(G.ARR, [1e300, -1e-300, 0.5], G.F64)),
    ("t.arr.empty", G.Value(G.ARR, [], G.I32)),
    ("t.arr.nested", G.Value(G.ARR, [G.Value(G.ARR, [1, 2], G.I32), G.Value(G.ARR, [b"s"], G.STR)], G.ARR)),
])


def _model_tensors(rng):
    """(name, array, type) of a small model: 2-D f32 matrices with rows of 256 / 512 (and one of 96:
    a multiple of 32 but not of 256), a 3-D tensor, 1-D f32 norm weights and a 1-D f16 tensor"""
    def n(*shape):
        return rng.standard_normal(shape).astype(f32)
    return [
        ("token_embd.weight", n(40, 256), "f32"),
        ("blk.0.attn_norm.weight", (1 + 0.1 * n(256)).astype(f32), "f32"),
        ("blk.0.attn_q.weight", n(64, 512) * f32(0.05), "f32"),
        ("blk.0.ffn_up.weight", n(33, 256), "f32"),
        ("blk.0.ffn_down.weight", n(256, 96), "f32"),          # rows of 96: q*_K keep it f32
        ("blk.0.attn_kv.weight", n(3, 4, 512), "f32"),        # 3-D: ne = (512, 4, 3)
        ("blk.0.bias", n(512), "f16"),                         # 1-D f16 -> f32
        ("output_norm.weight", n(512), "f32"),
        ("output.weight", np.zeros((5, 256), f32), "f32"),   # all-zero matrix
    ]


def write_model(path, rng, kv=None, alignment=None):
    tensors, arrays = [], {}
    for name, a, t in _model_tensors(rng):
        data = a.tobytes() if t == "f32" else Q.quantize(t, a)
        tensors.append((name, tuple(reversed(a.shape)), t, data))
        arrays[name] = a if t == "f32" else Q.dequantize(t, data, a.size).reshape(a.shape)
    kv = OrderedDict(ALL_KV if kv is None else kv)
    kv["general.file_type"] = G.Value(G.U32, 0)
    kv["general.quantization_version"] = G.Value(G.U32, 2)
    if alignment is not None:
        kv["general.alignment"] = G.Value(G.U32, alignment)
    G.write(path, kv, tensors)
    return arrays


def test_python_gguf_roundtrip(tmp_path, rng):
    """oracle.gguf's writer and reader agree (value types, nesting, alignment, data)"""
    p = tmp_path / "m.gguf"
    arrays = write_model(p, rng, alignment=64)
    g = G.read(p)
    assert g.version == 3 and g.alignment == 64 and g.data_offset % 64 == 0
    for k, v in ALL_KV.items():
        assert g.kv[k] == v, f"{k}: {g.kv[k]} != {v}"
    for t in g.tensors:
        assert t.offset % 64 == 0
        np.testing.assert_array_equal(g.array(t.name), arrays[t.name.decode()])


# =========================================================================== ck info
@pytest.mark.parametrize("path", VOCAB_FILES, ids=[os.path.basename(p) for p in VOCAB_FILES])
def test_info_vocab(ck_bin, path):
    g = G.read(path)
    compare_info(ck_info(ck_bin, path, 3), g, 3, path)


def test_info_vocab_default_items(ck_bin):
    path = VOCAB_FILES[0]
    compare_info(ck_info(ck_bin, path), G.read(path), 8, path)


@pytest.mark.parametrize("n_items", [0, 1, 3, 8, 200])
@pytest.mark.parametrize("alignment", [None, 64])
def test_info_all_types(ck_bin, tmp_path, rng, n_items, alignment):
    """every GGUF value type, nested arrays, escapes, long strings, a tensor table"""
    p = tmp_path / "all.gguf"
    write_model(p, rng, alignment=alignment)
    compare_info(ck_info(ck_bin, p, n_items), G.read(p), n_items, str(p))


def test_info_v2(ck_bin, tmp_path, rng):
    p = tmp_path / "v2.gguf"
    G.write(p, OrderedDict([("general.architecture", "x"), ("a.b", G.Value(G.U32, 7))]),
            [G.f32_tensor("w", rng.standard_normal((2, 32)).astype(f32))], version=2)
    compare_info(ck_info(ck_bin, p, 3), G.read(p), 3, str(p))


# =========================================================================== ck quantize / dequantize
_CLI = {}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(1234)
    p = d / "model.gguf"
    arrays = write_model(p, rng)
    return dict(dir=d, path=p, arrays=arrays, g=G.read(p))


def _quantized(ck_bin, model, t):
    """run ck quantize (and ck dequantize of its output) once per type"""
    if t not in _CLI:
        out = model["dir"] / f"model-{t}.gguf"
        back = model["dir"] / f"model-{t}-f32.gguf"
        r = run([ck_bin, "quantize", model["path"], out, t, "-q"])
        assert r.returncode == 0, f"ck quantize {t} failed ({r.returncode}): {r.stderr.decode(errors='replace')}"
        r2 = run([ck_bin, "dequantize", out, back, "-q"])
        assert r2.returncode == 0, f"ck dequantize failed ({r2.returncode}): {r2.stderr.decode(errors='replace')}"
        _CLI[t] = (out, back)
    return _CLI[t]


def _kv_without(g):
    return [(k, v) for k, v in g.kv.items() if k not in REWRITTEN]


def _target(t, tensor):
    bs = Q.TYPES[t].block_size
    return t if tensor.n_dims >= 2 and tensor.ne[0] % bs == 0 else "f32"


@pytest.mark.parametrize("t", CLI_TYPES)
def test_quantize_file(lib, ck_bin, model, t):
    out, _ = _quantized(ck_bin, model, t)
    assert not os.path.exists(str(out) + ".tmp"), "OUT.tmp left behind"
    gin, g = model["g"], G.read(out)
    assert _kv_without(g) == _kv_without(gin), "kv (other than file_type / quantization_version) changed"
    assert g.kv["general.file_type"] == G.Value(G.U32, FILE_TYPE[t])
    assert g.kv["general.quantization_version"] == G.Value(G.U32, 2)
    assert g.data_offset % g.alignment == 0
    assert [t_.name for t_ in g.tensors] == [t_.name for t_ in gin.tensors]
    for ti, to in zip(gin.tensors, g.tensors):
        name = ti.name.decode()
        assert to.ne == ti.ne and to.n_dims == ti.n_dims, f"{name}: shape {to.ne} != {ti.ne}"
        assert to.offset % g.alignment == 0, f"{name}: offset {to.offset} not aligned to {g.alignment}"
        assert to.data is not None, f"{name}: data past the end of the file"
        want = _target(t, ti)
        assert Q.TYPE_BY_ID[to.type] == want, f"{name}: type {Q.TYPE_BY_ID[to.type]}, expected {want}"
        src = model["arrays"][name].reshape(-1, ti.ne[0])
        if want == "f32":
            np.testing.assert_array_equal(np.frombuffer(to.data, f32).reshape(src.shape).view(np.uint32),
                                          src.view(np.uint32), err_msg=f"{name}: f32 values changed")
        else:
            exp = lib.quantize_rows(Q.TYPES[t].id, src)
            if bytes(to.data) != exp:
                got = np.frombuffer(to.data, np.uint8)
                i = int(np.flatnonzero(got != np.frombuffer(exp, np.uint8))[0])
                raise AssertionError(f"{name} ({t}): bytes differ from ck_quantize_row of the original rows, "
                                     f"first at byte {i} (row {i // Q.row_size(t, ti.ne[0])})")
    # tensors do not overlap and lie inside the file
    spans = sorted((to.offset, to.offset + to.n_bytes) for to in g.tensors)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "tensor data overlap"
    assert g.data_offset + spans[-1][1] <= g.size


@pytest.mark.parametrize("t", CLI_TYPES)
def test_dequantize_file(ck_bin, model, t):
    out, back = _quantized(ck_bin, model, t)
    assert not os.path.exists(str(back) + ".tmp")
    gq, gb = G.read(out), G.read(back)
    assert _kv_without(gb) == _kv_without(gq)
    assert gb.kv["general.file_type"] == G.Value(G.U32, 0)
    assert gb.data_offset % gb.alignment == 0
    for tq, tb in zip(gq.tensors, gb.tensors):
        name = tq.name.decode()
        assert tb.name == tq.name and tb.ne == tq.ne
        assert Q.TYPE_BY_ID[tb.type] == "f32", f"{name}: {Q.TYPE_BY_ID[tb.type]} after dequantize"
        assert tb.offset % gb.alignment == 0
        exp = Q.dequantize(tq.type, bytes(tq.data), int(tq.n_elements))
        got = np.frombuffer(tb.data, f32)
        assert np.array_equal(got.view(np.uint32), exp.view(np.uint32)), \
            f"{name}: dequantized values differ from the numpy dequantization of the {t} file"


@pytest.mark.parametrize("t", CLI_TYPES)
def test_info_quantized_file(ck_bin, model, t):
    out, _ = _quantized(ck_bin, model, t)
    compare_info(ck_info(ck_bin, out, 3), G.read(out), 3, str(out))


def test_quantize_alignment_kv(lib, ck_bin, tmp_path, rng):
    """general.alignment = 64 is copied and honoured"""
    src = tmp_path / "a64.gguf"
    write_model(src, rng, alignment=64)
    out = tmp_path / "a64-q8_0.gguf"
    r = run([ck_bin, "quantize", src, out, "q8_0", "-q"])
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    g = G.read(out)
    assert g.alignment == 64 and g.kv["general.alignment"] == G.Value(G.U32, 64)
    assert g.data_offset % 64 == 0
    for t in g.tensors:
        assert t.offset % 64 == 0, f"{t.name!r}: offset {t.offset} not a multiple of 64"


def test_quantize_f32_target(ck_bin, model, tmp_path):
    """TYPE f32: everything f32, values identical to the (f16 -> f32) originals"""
    out = tmp_path / "f32.gguf"
    r = run([ck_bin, "quantize", model["path"], out, "f32", "-q"])
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    g = G.read(out)
    assert g.kv["general.file_type"] == G.Value(G.U32, 0)
    for t in g.tensors:
        assert t.type == 0
        np.testing.assert_array_equal(g.array(t.name), model["arrays"][t.name.decode()])


# =========================================================================== failures
def _no_output(out):
    assert not os.path.exists(out), f"{out} was created"
    assert not os.path.exists(str(out) + ".tmp"), f"{out}.tmp was left behind"


@pytest.mark.parametrize("cmd", ["quantize", "dequantize"])
def test_missing_input(ck_bin, tmp_path, cmd):
    src = tmp_path / "does-not-exist.gguf"
    out = tmp_path / "out.gguf"
    r = run([ck_bin, cmd, src, out] + (["q8_0"] if cmd == "quantize" else []) + ["-q"])
    assert r.returncode != 0, f"ck {cmd} of a missing file exited 0"
    assert str(src).encode() in r.stderr or src.name.encode() in r.stderr, \
        f"message does not name the file: {r.stderr!r}"
    _no_output(out)


def _truncation_points(raw, g):
    """byte counts to cut a valid file at: inside the magic, header, a kv key, a kv value, the
    tensor infos, before the data and inside the last tensor's data"""
    t = g.tensors[-1]
    return sorted({2, 6, 14, 22, 30, 60, 300, g.data_offset - 40, g.data_offset - 1,
                   g.data_offset + t.offset + t.n_bytes // 2, len(raw) - 1})


def test_truncated_input(ck_bin, model, tmp_path):
    raw = open(model["path"], "rb").read()
    g = model["g"]
    for cut in _truncation_points(raw, g):
        src = tmp_path / f"trunc-{cut}.gguf"
        src.write_bytes(raw[:cut])
        out = tmp_path / f"trunc-{cut}-out.gguf"
        r = run([ck_bin, "quantize", src, out, "q8_0", "-q"])
        assert r.returncode != 0, f"ck quantize of a file truncated to {cut} bytes exited 0"
        assert src.name.encode() in r.stderr, f"cut at {cut}: message does not name the file: {r.stderr!r}"
        _no_output(out)


def test_same_file_refused(ck_bin, model, tmp_path):
    p = tmp_path / "x.gguf"
    raw = open(model["path"], "rb").read()
    p.write_bytes(raw)
    for cmd in (["quantize", p, p, "q8_0"], ["dequantize", p, p]):
        r = run([ck_bin] + cmd + ["-q"])
        assert r.returncode != 0, f"ck {cmd[0]} X X exited 0"
        assert p.read_bytes() == raw, f"ck {cmd[0]} X X modified X"
        assert not os.path.exists(str(p) + ".tmp")


@pytest.mark.parametrize("t", ["q2_K", "q3_K", "q8_K", "q8_1", "q4_2", "nonsense"])
def test_quantize_bad_type(ck_bin, model, tmp_path, t):
    out = tmp_path / "bad.gguf"
    r = run([ck_bin, "quantize", model["path"], out, t, "-q"])
    assert r.returncode != 0, f"ck quantize to {t} exited 0"
    _no_output(out)


# =========================================================================== malformed files
def _craft(kv=None, tensors=None, version=3, magic=b"GGUF", n_kv=None, n_tensors=None, data_len=None,
           alignment=32):
    """raw GGUF bytes: kv = [(key bytes, type, value bytes)], tensors = [(name, ne, type, offset)]"""
    import struct
    kv = [(b"general.architecture", G.STR, G._pack_string(b"x"))] if kv is None else kv
    tensors = [(b"a", (32, 2), 0, 0), (b"b", (64,), 0, 256)] if tensors is None else tensors
    out = [magic, struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                              len(kv) if n_kv is None else n_kv)]
    for key, t, val in kv:
        out += [G._pack_string(key), struct.pack("<I", t), val]
    for name, ne, t, off in tensors:
        out += [G._pack_string(name), struct.pack("<I", len(ne)), struct.pack(f"<{len(ne)}Q", *ne),
                struct.pack("<IQ", t, off)]
    head = b"".join(out)
    pad = (-len(head)) % alignment
    return head + b"\0" * (pad + (512 if data_len is None else data_len))


def _u32(v):
    import struct
    return struct.pack("<I", v)


MALFORMED = {
    "bad_magic": lambda: _craft(magic=b"GGUX"),
    "version_1": lambda: _craft(version=1),
    "version_4": lambda: _craft(version=4),
    "n_kv_huge": lambda: _craft(n_kv=2**62),
    "n_tensors_huge": lambda: _craft(n_tensors=2**62),
    "key_len_huge": lambda: _craft(kv=[(b"k", G.U32, _u32(1))])[:24] + (2**63).to_bytes(8, "little") + b"k" * 64,
    "bad_value_type": lambda: _craft(kv=[(b"k", 13, _u32(1))]),
    "bad_array_elem_type": lambda: _craft(kv=[(b"k", G.ARR, _u32(13) + (1).to_bytes(8, "little") + _u32(0))]),
    "array_count_huge": lambda: _craft(kv=[(b"k", G.ARR, _u32(G.U32) + (2**61).to_bytes(8, "little") + _u32(0))]),
    "str_array_count_huge": lambda: _craft(kv=[(b"k", G.ARR, _u32(G.STR) + (2**61).to_bytes(8, "little"))]),
    "string_past_eof": lambda: _craft(kv=[(b"k", G.STR, (10**6).to_bytes(8, "little") + b"abc")]),
    "n_dims_5": lambda: _craft(tensors=[(b"a", (32, 1, 1, 1, 1), 0, 0)]),
    "tensor_type_4": lambda: _craft(tensors=[(b"a", (32, 2), 4, 0)]),
    "tensor_type_99": lambda: _craft(tensors=[(b"a", (32, 2), 99, 0)]),
    "offset_misaligned": lambda: _craft(tensors=[(b"a", (32, 2), 0, 4)]),
    "row_not_multiple_of_block": lambda: _craft(tensors=[(b"a", (48, 2), 2, 0)]),
    "ne_product_overflow": lambda: _craft(tensors=[(b"a", (2**32, 2**32, 2**32), 0, 0)]),
    "data_past_eof": lambda: _craft(tensors=[(b"a", (32, 2), 0, 2**40)]),
    "alignment_zero": lambda: _craft(kv=[(b"general.alignment", G.U32, _u32(0))]),
    "alignment_not_pow2": lambda: _craft(kv=[(b"general.alignment", G.U32, _u32(48))], alignment=48),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_info_malformed(ck_bin, tmp_path, case):
    """ck info rejects a malformed file with a message naming it (exit > 0, no crash), as
    the Python reader does"""
    raw = MALFORMED[case]()
    with pytest.raises(G.GGUFError):
        G.read(raw)
    p = tmp_path / f"{case}.gguf"
    p.write_bytes(raw)
    r = run([ck_bin, "info", p])
    assert r.returncode > 0, f"{case}: ck info exited {r.returncode} (negative: killed by a signal)\n{r.stdout[:400]!r}"
    assert p.name.encode() in r.stderr, f"{case}: message does not name the file: {r.stderr!r}"
    out = tmp_path / f"{case}-q.gguf"
    r = run([ck_bin, "quantize", p, out, "q8_0", "-q"])
    assert r.returncode > 0, f"{case}: ck quantize exited {r.returncode}"
    _no_output(out)


def test_info_wellformed_craft(ck_bin, tmp_path):
    """the unmodified crafted file is valid for both readers (the malformed cases differ in one field)"""
    raw = _craft()
    G.read(raw)
    p = tmp_path / "ok.gguf"
    p.write_bytes(raw)
    compare_info(ck_info(ck_bin, p, 3), G.read(raw), 3, str(p))


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_quantize_refuses_nan_and_inf(ck_bin, tmp_path, bad):
    """a block format cannot store NaN or Inf: `ck quantize` names the tensor and row and writes
    nothing (before: undefined behaviour in the quantizer, UBSan's left shift of a negative value)"""
    w = np.ones((4, 64), np.float32)
    w[2, 5] = np.nan if bad == "nan" else np.inf
    src, out = tmp_path / "bad.gguf", tmp_path / "bad-q4_0.gguf"
    G.write(src, {"general.architecture": G.value("llama")}, [G.f32_tensor("blk.0.ffn_up.weight", w)])
    r = run([ck_bin, "quantize", src, out, "q4_0", "-q"])
    assert r.returncode == 1, r
    assert "blk.0.ffn_up.weight row 2 holds NaN or Inf, which q4_0 cannot store" in r.stderr.decode(), r.stderr
    assert not out.exists()
