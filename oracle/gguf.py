"""Independent GGUF v2/v3 reader and writer (pure Python ``struct`` + numpy), written from the
GGUF specification:

    header   magic "GGUF" | version u32 | n_tensors u64 | n_kv u64
    kv       key (string) | value type u32 | value
    tensor   name (string) | n_dims u32 | ne[n_dims] u64 | type u32 | offset u64 (in the data section)
    data     starts at the first multiple of general.alignment (u32, default 32) after the infos
    string   length u64 | bytes (not NUL-terminated)
    array    element type u32 | count u64 | elements (arrays may nest)

Value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64,
11 i64, 12 f64.  Little-endian only.

``read(path_or_bytes)`` -> GGUFFile(version, kv (ordered dict key -> Value), tensors (list of
TensorInfo), alignment, data_offset, raw bytes).  Strings are returned as ``bytes`` (GGUF does not
promise valid UTF-8).  ``write(path, kv, tensors, ...)`` writes a file; kv values are ``Value``s
(or plain Python values, typed by ``value()``'s rules).
"""
import struct
from collections import OrderedDict, namedtuple

import numpy as np

from . import quant

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
VTYPE_NAMES = {U8: "u8", I8: "i8", U16: "u16", I16: "i16", U32: "u32", I32: "i32", F32: "f32",
               BOOL: "bool", STR: "str", ARR: "arr", U64: "u64", I64: "i64", F64: "f64"}
_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
        U64: "<Q", I64: "<q", F64: "<d"}
_NP = {U8: "<u1", I8: "<i1", U16: "<u2", I16: "<i2", U32: "<u4", I32: "<i4", F32: "<f4", BOOL: "<u1",
       U64: "<u8", I64: "<i8", F64: "<f8"}


class Value(namedtuple("Value", "type value arr_type")):
    """A typed GGUF value. Scalars: python int/float/bool; STR: bytes; ARR: list of element values
    (scalars, bytes, or nested ``Value``s of type ARR) with arr_type the element type."""
    __slots__ = ()

    def __new__(cls, type, value, arr_type=None):
        return super().__new__(cls, type, value, arr_type)

    def type_name(self):
        if self.type == ARR:
            return f"arr[{VTYPE_NAMES[self.arr_type]},{len(self.value)}]"
        return VTYPE_NAMES[self.type]


TensorInfo = namedtuple("TensorInfo", "name n_dims ne type offset n_elements n_bytes data")
# name: bytes; ne: tuple (ne[0] = row length); type: ggml type id; offset: in the data section;
# data: memoryview of the tensor's bytes (None when the file was truncated)


class GGUFFile(namedtuple("GGUFFile", "version n_tensors n_kv kv tensors alignment data_offset size raw")):
    __slots__ = ()

    def tensor(self, name):
        if isinstance(name, str):
            name = name.encode()
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def array(self, name):
        """tensor as a numpy array of shape ne[::-1] (f32 / f16 / bf16 as float32; quantized
        types dequantized with oracle.quant)"""
        t = self.tensor(name)
        n = int(t.n_elements)
        x = quant.dequantize(t.type, bytes(t.data), n)
        return x.reshape(tuple(reversed(t.ne)))


class GGUFError(ValueError):
    pass


class _Reader:
    def __init__(self, buf):
        self.buf = memoryview(buf)
        self.pos = 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.buf):
            raise GGUFError(f"truncated: {what} needs {n} bytes at offset {self.pos}, file has {len(self.buf)}")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def scalar(self, t, what):
        fmt = _FMT[t]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what):
        n = self.scalar(U64, what + " length")
        return bytes(self.take(n, what))

    def value(self, t, what, depth=0):
        if t == STR:
            return Value(STR, self.string(what))
        if t == ARR:
            if depth > 8:
                raise GGUFError(f"{what}: arrays nested too deeply")
            et = self.scalar(U32, what + " element type")
            n = self.scalar(U64, what + " element count")
            if et not in VTYPE_NAMES:
                raise GGUFError(f"{what}: bad array element type {et}")
            if et in _NP:
                size = np.dtype(_NP[et]).itemsize
                if n * size > len(self.buf) - self.pos:
                    raise GGUFError(f"truncated: {what} array of {n} elements")
                raw = np.frombuffer(self.take(n * size, what), dtype=_NP[et])
                items = [bool(v) for v in raw] if et == BOOL else [v.item() for v in raw]
            elif et == STR:
                items = [self.string(f"{what}[{i}]") for i in range(n)]
            else:
                items = [self.value(ARR, f"{what}[{i}]", depth + 1) for i in range(n)]
            return Value(ARR, items, et)
        if t not in _FMT:
            raise GGUFError(f"{what}: bad value type {t}")
        v = self.scalar(t, what)
        return Value(t, bool(v) if t == BOOL else v)


def read(src, strict=True):
    """Parse a GGUF v2/v3 file (path, bytes or bytearray). strict: also reject unknown tensor
    types, rows that are not a multiple of the block, misaligned offsets, overlapping tensors
    and tensor data past the end of the file (what llama.cpp's loader rejects)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        raw = bytes(src)
    else:
        with open(src, "rb") as f:
            raw = f.read()
    r = _Reader(raw)
    magic = bytes(r.take(4, "magic"))
    if magic != MAGIC:
        raise GGUFError(f"bad magic {magic!r}")
    version = r.scalar(U32, "version")
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    n_tensors = r.scalar(U64, "n_tensors")
    n_kv = r.scalar(U64, "n_kv")
    kv = OrderedDict()
    for i in range(n_kv):
        key = r.string(f"kv[{i}] key").decode("utf-8", errors="surrogateescape")
        t = r.scalar(U32, f"kv[{i}] type")
        kv[key] = r.value(t, key)
    alignment = DEFAULT_ALIGNMENT
    if "general.alignment" in kv:
        a = kv["general.alignment"]
        if a.type != U32 or a.value == 0 or (a.value & (a.value - 1)):
            raise GGUFError(f"bad general.alignment {a}")
        alignment = a.value
    infos = []
    for i in range(n_tensors):
        name = r.string(f"tensor[{i}] name")
        n_dims = r.scalar(U32, f"tensor[{i}] n_dims")
        if n_dims > 4:
            raise GGUFError(f"tensor {name!r}: n_dims {n_dims} > 4")
        ne = tuple(r.scalar(U64, f"tensor[{i}] ne") for _ in range(n_dims))
        t = r.scalar(U32, f"tensor[{i}] type")
        off = r.scalar(U64, f"tensor[{i}] offset")
        infos.append((name, n_dims, ne, t, off))
    data_offset = (r.pos + alignment - 1) // alignment * alignment
    tensors = []
    names = set()
    for name, n_dims, ne, t, off in infos:
        n = 1
        for v in ne:
            n *= v                      # python ints: no overflow
        tn = quant.TYPE_BY_ID.get(t)
        nbytes = None
        if tn is not None and (not ne or ne[0] % quant.TYPES[tn].block_size == 0):
            nbytes = quant.row_size(tn, ne[0]) * (n // ne[0]) if ne and ne[0] else 0
        start = data_offset + off
        data = None
        if nbytes is not None and start + nbytes <= len(raw):
            data = memoryview(raw)[start:start + nbytes]
        if strict:
            if tn is None:
                raise GGUFError(f"tensor {name!r}: unknown type {t}")
            if nbytes is None:
                raise GGUFError(f"tensor {name!r}: row of {ne[0]} is not a multiple of {tn}'s block")
            if off % alignment:
                raise GGUFError(f"tensor {name!r}: offset {off} not a multiple of the alignment {alignment}")
            if data is None:
                raise GGUFError(f"tensor {name!r}: data [{start}, {start + nbytes}) past the end of the file ({len(raw)})")
            if name in names:
                raise GGUFError(f"duplicate tensor {name!r}")
        names.add(name)
        tensors.append(TensorInfo(name, n_dims, ne, t, off, n, nbytes, data))
    if strict:
        spans = sorted((t.offset, t.offset + t.n_bytes) for t in tensors)
        for a, b in zip(spans, spans[1:]):
            if a[1] > b[0]:
                raise GGUFError(f"tensor data overlap: [{a[0]}, {a[1]}) and [{b[0]}, {b[1]})")
    return GGUFFile(version, n_tensors, n_kv, kv, tensors, alignment, data_offset, len(raw), raw)


# ============================================================================ writer
def _pack_string(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("<Q", len(b)) + b


def _pack_value(v):
    if v.type == STR:
        return _pack_string(v.value)
    if v.type == ARR:
        out = [struct.pack("<IQ", v.arr_type, len(v.value))]
        for item in v.value:
            if v.arr_type == STR:
                out.append(_pack_string(item))
            elif v.arr_type == ARR:
                out.append(_pack_value(item))  # nested array: element type + count + items, no type tag
            else:
                out.append(struct.pack(_FMT[v.arr_type], item))
        return b"".join(out)
    return struct.pack(_FMT[v.type], v.value)


def value(x, vtype=None, arr_type=None):
    """Python -> Value: bool -> BOOL, int -> I32 (or vtype), float -> F32, str/bytes -> STR,
    list -> ARR of arr_type (inferred from the first item when not given)."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (list, tuple)):
        if arr_type is None:
            arr_type = value(x[0]).type if x else U32
        items = [(value(i) if arr_type == ARR else
                  (i.encode() if isinstance(i, str) else i)) for i in x]
        return Value(ARR, items, arr_type)
    if vtype is not None:
        if vtype == STR and isinstance(x, str):
            x = x.encode()
        return Value(vtype, x)
    if isinstance(x, bool):
        return Value(BOOL, x)
    if isinstance(x, int):
        return Value(I32, x)
    if isinstance(x, float):
        return Value(F32, x)
    if isinstance(x, (str, bytes)):
        return Value(STR, x.encode() if isinstance(x, str) else x)
    raise TypeError(f"cannot type {x!r}")


def serialize(kv, tensors, version=3, alignment=None):
    """kv: ordered mapping key -> Value (or python value); tensors: list of (name, ne tuple, type
    (name or id), data bytes).  Tensor data are laid out in order, each at an aligned offset."""
    if alignment is None:
        a = kv.get("general.alignment") if hasattr(kv, "get") else None
        alignment = a.value if isinstance(a, Value) else (a or DEFAULT_ALIGNMENT)
    out = [MAGIC, struct.pack("<IQQ", version, len(tensors), len(kv))]
    for k, v in kv.items():
        v = value(v)
        out.append(_pack_string(k))
        out.append(struct.pack("<I", v.type))
        out.append(_pack_value(v))
    offsets, off = [], 0
    for name, ne, t, data in tensors:
        off = (off + alignment - 1) // alignment * alignment
        offsets.append(off)
        off += len(data)
    for (name, ne, t, data), o in zip(tensors, offsets):
        tid = quant.TYPES[t].id if isinstance(t, str) else t
        out.append(_pack_string(name))
        out.append(struct.pack("<I", len(ne)))
        out.append(struct.pack(f"<{len(ne)}Q", *ne))
        out.append(struct.pack("<IQ", tid, o))
    head = b"".join(out)
    data_offset = (len(head) + alignment - 1) // alignment * alignment
    body = bytearray(head + b"\0" * (data_offset - len(head)))
    for (name, ne, t, data), o in zip(tensors, offsets):
        body += b"\0" * (data_offset + o - len(body))
        body += bytes(data)
    return bytes(body)


def write(path, kv, tensors, version=3, alignment=None):
    with open(path, "wb") as f:
        f.write(serialize(kv, tensors, version, alignment))


def f32_tensor(name, arr):
    """(name, ne, 'f32', bytes) for a numpy array in row-major order (ne = shape reversed)"""
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    return (name, tuple(reversed(arr.shape)), "f32", arr.tobytes())
