"""`ck check`'s comparison: a generated program's activations (`run --dump DIR`) against the family's
PyTorch reference forward (oracle/models.py, with Model.capture) on the same tokens, op by op in the
order the program ran them.

    /usr/bin/python3 -m oracle.check DIR MODEL.gguf [--tol X] [--reference REF.gguf]

The reference reads MODEL.gguf, or REF.gguf (another file of the same model: the one a converted,
edited or suspect MODEL.gguf should equal).

An op of the program and of the reference are the same when they have the same layer ("head",
0..n_layer-1, "foot"), op kind and output name, and come in the same order among those (the
second `rmsnorm h` of a layer is the ffn norm). Each op's difference is max |program - reference|
over its [T, cols] output divided by max(1, max |reference|): a relative error for large outputs,
an absolute one for small ones. Prints the first op beyond the tolerance (layer, DSL line, tensor,
position) with its max difference, or "all N ops agree to X". Exit status: 0 agree, 1 an op
diverges, 2 nothing could be compared.
"""
import argparse
import json
import os
import sys

import numpy as np

from . import gguf as G
from . import models as OM
from . import quant as Q

# F32 weights: the program's f32 arithmetic against float64; the parity tests' tolerance on logits
# (tests/test_models.py TOL), here per op and relative to its scale.
F32_TOL = 1e-4
# Any other weight type: the program rounds each quantized matmul's input to 8 bits as ggml does and
# the reference emulates it (emulate_ggml_acts), but an f32 value next to a rounding boundary may
# round the other way than its float64 twin: one quantum (~1/127 of a block's range) on an input,
# which tests/test_models.py bounds at 5e-2 of the scale (EMU_FLIP_BOUND). A wrong op is far beyond.
QUANT_TOL = 5e-2


def layer_of(e):
    return e["layer"] if e["section"] == "block" else e["section"]


def reference(gguf, tokens, quantized):
    """{(layer, op, out, k): [T, cols] float64} of the reference forward; k counts repeats"""
    m = OM.load(gguf, emulate_ggml_acts=quantized)
    m.capture = []
    m.forward(tokens)
    ref, seen = {}, {}
    for layer, op, out, t in m.capture:
        k = seen.get((layer, op, out), 0)
        seen[(layer, op, out)] = k + 1
        ref[(layer, op, out, k)] = t.numpy()
    return ref


def compare(dump_dir, gguf, tol=None, out=sys.stdout, ref_gguf=None):
    with open(os.path.join(dump_dir, "index.json")) as f:
        index = json.load(f)
    tokens = index["tokens"]
    g = G.read(gguf)
    quantized = any(Q.type_name(t.type) != "f32" for t in g.tensors if len(t.ne) > 1 and t.ne[1] > 1)
    if tol is None:
        tol = QUANT_TOL if quantized else F32_TOL
    try:
        ref = reference(ref_gguf or gguf, tokens, quantized)
    except (ValueError, KeyError, OSError) as e:   # no reference for the family, a file it cannot read
        print(f"ck check: the reference forward cannot run: {e}", file=out)
        return 2
    print(f"ck check: {index['arch']}, {index['n_layer']} layers, {len(tokens)} tokens, weights "
          f"{'quantized (reference emulates ggml activation rounding)' if quantized else 'f32'}; tolerance {tol:g} "
          f"of max(1, max|reference|) per op" + (f"; reference weights {ref_gguf}" if ref_gguf else ""), file=out)
    seen, missing, compared, worst = {}, [], 0, 0.0
    for e in index["entries"]:
        key = (layer_of(e), e["op"], e["out"])
        k = seen.get(key, 0)
        seen[key] = k + 1
        r = ref.get(key + (k,))
        if r is None:
            missing.append(e)
            continue
        got = np.load(os.path.join(dump_dir, e["file"])).astype(np.float64)
        where = f"layer {e['layer']}" if e["section"] == "block" else e["section"]
        if got.shape != r.shape:
            print(f"first divergence: {where}, {e['dsl']}: tensor {e['out']} has shape {list(got.shape)}, "
                  f"the reference {list(r.shape)}", file=out)
            return 1
        d = np.abs(got - r)
        scale = max(1.0, float(np.max(np.abs(r))))
        rel = float(np.max(d)) / scale
        compared += 1
        if not rel <= tol:   # NaN too
            bad = np.where(~(d.max(axis=1) <= tol * scale))[0]
            pos = int(bad[0])
            row, col = np.unravel_index(int(np.nanargmax(np.where(np.isnan(d), np.inf, d))), d.shape)
            print(f"first divergence: {where}, {e['dsl']} (op {e['op']}, tensor {e['out']}), first at position {pos} "
                  f"(token {tokens[pos]}): max |diff| {float(np.max(d)):.3e} at position {row}, column {col} "
                  f"(program {got[row, col]:.6g}, reference {r[row, col]:.6g}); {rel:.2e} of the scale {scale:.3g}, "
                  f"tolerance {tol:g}", file=out)
            return 1
        worst = max(worst, rel)
    if missing:
        print(f"not compared (no reference output of that name): "
              f"{', '.join(sorted({e['op'] + ' ' + e['out'] for e in missing}))} ({len(missing)} entries)", file=out)
    if not compared:
        print("nothing compared: the reference records none of the program's ops", file=out)
        return 2
    print(f"all {compared} ops agree to {worst:.1e} (max |diff| / max(1, max|reference|); tolerance {tol:g})", file=out)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ck check", description=__doc__.split("\n\n")[0])
    ap.add_argument("dump_dir")
    ap.add_argument("gguf")
    ap.add_argument("--tol", type=float, default=None)
    ap.add_argument("--reference", default=None)
    a = ap.parse_args(argv)
    return compare(a.dump_dir, a.gguf, a.tol, ref_gguf=a.reference)


if __name__ == "__main__":
    sys.exit(main())
