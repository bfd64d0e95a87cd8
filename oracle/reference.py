"""Float64 PyTorch reference implementations of every ckernel kernel.

Inputs are numpy arrays (usually float32); they are cast to float64 before computing, so the
references are the "exact" answer for the float32 inputs the C kernels see.  Forward functions
return float64 numpy arrays; backward functions return the float64 gradients obtained with
torch.autograd.grad of sum(forward * dout) (they do NOT include any accumulation prefill).
Everything here is written from the ckernel contract, independently of the C code.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F


def _t(a, requires_grad=False):
    if a is None:
        return None
    t = torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np(t):
    return None if t is None else t.detach().cpu().numpy().astype(np.float64)


def vjp(fn, primals, douts):
    """Gradients of sum_i <fn(*primals)[i], douts[i]> w.r.t. each non-None primal (None stays None)."""
    ts = [_t(p, requires_grad=True) for p in primals]
    outs = fn(*ts)
    if not isinstance(outs, (tuple, list)):
        outs = (outs,)
    if not isinstance(douts, (tuple, list)):
        douts = (douts,)
    loss = sum((o * _t(d)).sum() for o, d in zip(outs, douts) if d is not None)
    live = [t for t in ts if t is not None]
    grads = torch.autograd.grad(loss, live, allow_unused=True)
    it = iter(grads)
    res = []
    for t in ts:
        if t is None:
            res.append(None)
        else:
            g = next(it)
            res.append(np.zeros(tuple(t.shape)) if g is None else _np(g))
    return res


# --------------------------------------------------------------------------- embedding
def _embedding(tokens, wte, wpe, pos0):
    idx = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    out = wte[idx]
    if wpe is not None:
        out = out + wpe[pos0:pos0 + idx.shape[0]]
    return out


def embedding_forward(tokens, wte, wpe=None, pos0=0):
    return _np(_embedding(tokens, _t(wte), _t(wpe), pos0))


def embedding_backward(dout, tokens, wte, wpe=None, pos0=0):
    """-> (dwte, dwpe or None)"""
    return tuple(vjp(lambda a, b: _embedding(tokens, a, b, pos0), [wte, wpe], dout))


# --------------------------------------------------------------------------- matmul
def _matmul(inp, weight, bias):
    out = inp @ weight.T
    return out if bias is None else out + bias


def matmul_forward(inp, weight, bias=None):
    return _np(_matmul(_t(inp), _t(weight), _t(bias)))


def matmul_backward(dout, inp, weight, bias=None):
    """-> (dinp, dweight, dbias or None)"""
    return tuple(vjp(_matmul, [inp, weight, bias], dout))


# --------------------------------------------------------------------------- rmsnorm
def _rmsnorm(x, w, eps):
    rstd = 1.0 / torch.sqrt((x * x).mean(dim=-1) + eps)
    return x * rstd[:, None] * w, rstd


def rmsnorm_forward(inp, weight, eps):
    """-> (out, rstd)"""
    out, rstd = _rmsnorm(_t(inp), _t(weight), eps)
    return _np(out), _np(rstd)


def rmsnorm_backward(dout, inp, weight, eps):
    """-> (dinp, dweight)"""
    return tuple(vjp(lambda x, w: _rmsnorm(x, w, eps)[0], [inp, weight], dout))


# --------------------------------------------------------------------------- layernorm
def _layernorm(x, w, b, eps):
    mean = x.mean(dim=-1)
    xc = x - mean[:, None]
    var = (xc * xc).mean(dim=-1)          # biased variance
    rstd = 1.0 / torch.sqrt(var + eps)
    out = xc * rstd[:, None] * w
    if b is not None:
        out = out + b
    return out, mean, rstd


def layernorm_forward(inp, weight, bias, eps):
    """-> (out, mean, rstd)"""
    return tuple(_np(t) for t in _layernorm(_t(inp), _t(weight), _t(bias), eps))


def layernorm_backward(dout, inp, weight, bias, eps):
    """-> (dinp, dweight, dbias or None)"""
    return tuple(vjp(lambda x, w, b: _layernorm(x, w, b, eps)[0], [inp, weight, bias], dout))


# --------------------------------------------------------------------------- activations
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))


def _gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _silu(x):
    return x * torch.sigmoid(x)


def gelu_forward(inp):
    return _np(_gelu_tanh(_t(inp)))


def gelu_backward(dout, inp):
    return vjp(_gelu_tanh, [inp], dout)[0]


def gelu_erf_forward(inp):
    return _np(_gelu_erf(_t(inp)))


def gelu_erf_backward(dout, inp):
    return vjp(_gelu_erf, [inp], dout)[0]


def swiglu_forward(gate, up):
    return _np(_silu(_t(gate)) * _t(up))


def swiglu_backward(dout, gate, up):
    """-> (dgate, dup)"""
    return tuple(vjp(lambda g, u: _silu(g) * u, [gate, up], dout))


def geglu_forward(gate, up):
    return _np(_gelu_tanh(_t(gate)) * _t(up))


def geglu_backward(dout, gate, up):
    """-> (dgate, dup)"""
    return tuple(vjp(lambda g, u: _gelu_tanh(g) * u, [gate, up], dout))


# --------------------------------------------------------------------------- softmax
def softmax_forward(inp):
    return _np(torch.softmax(_t(inp), dim=-1))


def softmax_backward(dout, inp):
    """Gradient w.r.t. the softmax INPUT (the C kernel receives out = softmax(inp))."""
    return vjp(lambda x: torch.softmax(x, dim=-1), [inp], dout)[0]


# --------------------------------------------------------------------------- rope
def rope_angles(positions, n_rot, theta):
    """angle[p, i] = p * theta ** (-2 i / n_rot), float64, shape [len(positions), n_rot/2]."""
    pos = torch.as_tensor(np.asarray(positions, dtype=np.float64))
    i = torch.arange(n_rot // 2, dtype=torch.float64)
    freq = float(theta) ** (-2.0 * i / n_rot)
    return pos[:, None] * freq[None, :]


def rope_cache(max_T, n_rot, theta):
    """[max_T, n_rot/2, 2] of (cos, sin)."""
    ang = rope_angles(np.arange(max_T), n_rot, theta)
    return _np(torch.stack([torch.cos(ang), torch.sin(ang)], dim=-1))


def _rope(x, ang, n_rot, neox):
    # x [NH, T, HS]; ang [T, n_rot/2]
    half = n_rot // 2
    c, s = torch.cos(ang)[None], torch.sin(ang)[None]
    rot, rest = x[..., :n_rot], x[..., n_rot:]
    if neox:
        a, b = rot[..., :half], rot[..., half:]
        y = torch.cat([a * c - b * s, a * s + b * c], dim=-1)
    else:
        a, b = rot[..., 0::2], rot[..., 1::2]
        y = torch.stack([a * c - b * s, a * s + b * c], dim=-1).reshape(rot.shape)
    return torch.cat([y, rest], dim=-1)


def rope_forward(x, n_rot, pos0, neox, theta):
    T = x.shape[1]
    ang = rope_angles(pos0 + np.arange(T), n_rot, theta)
    return _np(_rope(_t(x), ang, n_rot, neox))


def rope_backward(dout, n_rot, pos0, neox, theta):
    """dL/dx given dL/d(rope(x)) (independent of x: rope is linear)."""
    T = dout.shape[1]
    ang = rope_angles(pos0 + np.arange(T), n_rot, theta)
    return vjp(lambda x: _rope(x, ang, n_rot, neox), [np.zeros_like(dout)], dout)[0]


# --------------------------------------------------------------------------- attention
def attention_mask(T, Tk, pos0, window):
    """visible[t, j]: causal (j <= pos0+t) and, if window > 0, j > pos0 + t - window."""
    t = torch.arange(T)[:, None] + pos0
    j = torch.arange(Tk)[None, :]
    vis = j <= t
    if window > 0:
        vis = vis & (j > t - window)
    return vis


def _softcap(x, cap):
    return cap * torch.tanh(x / cap) if cap > 0 else x


def softcap_forward(inp, cap):
    return _np(_softcap(_t(inp), cap))


def softcap_backward(dout, inp, cap):
    return vjp(lambda x: _softcap(x, cap), [inp], dout)[0]


def _attention(q, k, v, pos0, window, scale, softcap=0.0):
    NH, T, HS = q.shape
    NKV, Tk, _ = k.shape
    group = NH // NKV
    kv_head = torch.tensor([h // group for h in range(NH)])
    kh, vh = k[kv_head], v[kv_head]                       # [NH, Tk, HS]
    scores = scale * torch.einsum("htd,hjd->htj", q, kh)  # [NH, T, Tk]
    scores = _softcap(scores, softcap)                     # Gemma 2: after the scale, before the mask
    vis = attention_mask(T, Tk, pos0, window)[None]
    scores = scores.masked_fill(~vis, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    p = torch.exp(scores - lse[..., None])
    return torch.einsum("htj,hjd->htd", p, vh), lse


def attention_forward(q, k, v, pos0, window, scale, softcap=0.0):
    """-> (out [NH,T,HS], lse [NH,T])"""
    out, lse = _attention(_t(q), _t(k), _t(v), pos0, window, scale, softcap)
    return _np(out), _np(lse)


def attention_backward(dout, q, k, v, pos0, window, scale, softcap=0.0):
    """-> (dq, dk, dv)"""
    return tuple(vjp(lambda a, b, c: _attention(a, b, c, pos0, window, scale, softcap)[0], [q, k, v], dout))


# --------------------------------------------------------------------------- cross entropy
def cross_entropy_forward(logits, targets, ignore_index=-100):
    """-> (mean_loss, losses [T] (0 on ignored rows), probs [T,V])"""
    x = _t(logits)
    tg = torch.as_tensor(np.asarray(targets, dtype=np.int64))
    losses = F.cross_entropy(x, tg, ignore_index=ignore_index, reduction="none")
    mean = F.cross_entropy(x, tg, ignore_index=ignore_index, reduction="mean")
    return float(mean), _np(losses), _np(torch.softmax(x, dim=-1))


def cross_entropy_backward(logits, targets, ignore_index=-100, dloss=1.0):
    """d(dloss * mean_loss)/dlogits"""
    tg = torch.as_tensor(np.asarray(targets, dtype=np.int64))
    return vjp(lambda x: F.cross_entropy(x, tg, ignore_index=ignore_index, reduction="mean"),
               [logits], np.float64(dloss))[0]


# --------------------------------------------------------------------------- optimizer
def adamw(param0, grads, lr, beta1, beta2, eps, weight_decay):
    """Runs torch.optim.AdamW (float64) for len(grads) steps. -> (param, exp_avg, exp_avg_sq)"""
    p = torch.nn.Parameter(_t(param0))
    opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    for g in grads:
        p.grad = _t(g)
        opt.step()
    st = opt.state[p]
    return _np(p), _np(st["exp_avg"]), _np(st["exp_avg_sq"])


def grad_norm(grad):
    return float(torch.linalg.vector_norm(_t(grad).reshape(-1)))
