"""PyTorch reference trainer: the same model, batches, loss, clipping, schedule and AdamW as
examples/train.c, so every step of a ckernel training run can be compared.

The model is oracle.models' reference forward of the family, with every GGUF tensor turned into
a float64 leaf tensor that requires grad (``dtype=torch.float32``: make bench-train's timing; a
tied output weight is the token embedding itself, so its gradient is the sum of both uses, as in
the C code). The optimiser is torch.optim.AdamW with
two groups (weight decay on matrices only, as examples/train.c), gradients clipped with
torch.nn.utils.clip_grad_norm_, the learning rate set per step from the same schedule.

LoraTrainer: the same for LoRA training (ckgen --train --lora): the base dequantized to float64 and
frozen, only the adapters' A and B trained, the forward reading W + (alpha / rank) * B @ A.

Data: as examples/train.c reads it (llm.c order): micro-batch k takes tokens
[pos, pos + B*T + 1), inputs the first B*T (B rows of T), targets shifted by one; pos advances
by B*T and wraps to 0 when the next batch does not fit.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from . import models as OM
from . import gguf as G


def lr_at(step, steps, lr, warmup=0, schedule="cosine", min_lr_frac=0.1):
    """examples/train.c's lr_at(), in double, rounded to float32 as the C code passes it"""
    lo = lr * min_lr_frac
    if warmup > 0 and step < warmup:
        v = lr * (step + 1) / warmup
    elif schedule == "constant":
        v = lr
    else:
        span = steps - warmup - 1 if steps - warmup > 1 else 1
        p = min((step - warmup) / span, 1.0)
        v = lo + 0.5 * (1.0 + math.cos(math.pi * p)) * (lr - lo)
    return float(np.float32(v))


def read_tokens(path):
    """raw bytes, or an llm.c .bin shard (magic 20240520)"""
    raw = open(path, "rb").read()
    hdr = np.frombuffer(raw[:1024], dtype=np.int32) if len(raw) >= 1024 else None
    if hdr is not None and hdr[0] == 20240520:
        return np.frombuffer(raw[1024:1024 + 2 * int(hdr[2])], dtype=np.uint16).astype(np.int64)
    return np.frombuffer(raw, dtype=np.uint8).astype(np.int64)


class Trainer:
    def __init__(self, gguf_path, lr=3e-4, steps=20, warmup=0, schedule="cosine", min_lr_frac=0.1, wd=0.0,
                 clip=1.0, beta1=0.9, beta2=0.999, eps=1e-8, dtype=torch.float64):
        self.m = OM.load(gguf_path)
        self.names = [t.name.decode() for t in self.m.g.tensors]
        self.params = {}
        for n in self.names:
            self.params[n] = torch.tensor(self.m.g.array(n).astype(np.float64), dtype=dtype, requires_grad=True)
        self.m._w = self.params          # the reference forward reads its weights from here
        decay = [self.params[n] for n in self.names if self.params[n].dim() > 1 and self.params[n].shape[0] > 1]
        ids = {id(p) for p in decay}
        rest = [self.params[n] for n in self.names if id(self.params[n]) not in ids]
        self._optimizer([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}],
                        lr, steps, warmup, schedule, min_lr_frac, clip, beta1, beta2, eps)

    def _optimizer(self, groups, lr, steps, warmup, schedule, min_lr_frac, clip, beta1, beta2, eps):
        """AdamW over the parameter groups, the schedule, clipping and the data position: shared by both trainers"""
        self.opt = torch.optim.AdamW(groups, lr=lr, betas=(beta1, beta2), eps=eps)
        self.cfg = dict(lr=lr, steps=steps, warmup=warmup, schedule=schedule, min_lr_frac=min_lr_frac)
        self.clip = clip
        self.pos = 0

    def next_batch(self, data, B, T):
        need = B * T + 1
        if self.pos + need > len(data):
            self.pos = 0
        chunk = data[self.pos:self.pos + need]
        self.pos += B * T
        return chunk[:-1].reshape(B, T), chunk[1:].reshape(B, T)

    def loss(self, x, y):
        """mean cross-entropy over the B*T targets (each row is a sequence from position 0)"""
        total = 0
        for b in range(x.shape[0]):
            logits = self.m.forward(x[b])
            total = total + F.cross_entropy(logits, torch.as_tensor(y[b]), reduction="sum")
        return total / x.size

    def step(self, step, data, B, T, accum=1):
        """one optimizer step; returns (mean loss, grad norm before clipping, lr)"""
        self.opt.zero_grad(set_to_none=False)
        loss_sum = 0.0
        for _ in range(accum):
            x, y = self.next_batch(data, B, T)
            loss = self.loss(x, y)
            (loss / accum).backward()
            loss_sum += float(loss)
        params = [self.params[n] for n in self.names]
        if self.clip > 0:
            norm = float(torch.nn.utils.clip_grad_norm_(params, self.clip))
        else:
            norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params)))
        lr = lr_at(step, **self.cfg)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.opt.step()
        return loss_sum / accum, norm, lr

    def weights(self):
        return {n: self.params[n].detach().numpy() for n in self.names}


class LoraTrainer(Trainer):
    """LoRA training of a frozen base (examples/train.c built with ckgen --lora): the trained tensors are
    the adapter's A [rank, n_in] and B [n_out, rank] per adapted weight W [n_out, n_in], and the forward
    reads W + (alpha / rank) * B @ A in place of W, so autograd gives A and B their gradients.

    base_gguf: any weight types; every tensor dequantized to float64 by oracle.gguf / oracle.quant (what
    the C trainer's exact dequantized matmul computes, in float64) and frozen (no grad).
    adapter_gguf: a GGUF LoRA adapter (llama.cpp's layout, as ck_lora_write_file writes it): the initial
    A and B (float32 in the file, float64 here) and the targets; alpha: adapter.lora.alpha unless given.
    AdamW with weight decay `wd` on every adapter tensor (A and B); clipping of the adapter gradients'
    global norm, the schedule and the data order as Trainer."""

    def __init__(self, base_gguf, adapter_gguf, alpha=None, lr=3e-4, steps=20, warmup=0, schedule="cosine",
                 min_lr_frac=0.1, wd=0.0, clip=1.0, beta1=0.9, beta2=0.999, eps=1e-8, dtype=torch.float64):
        self.m = OM.load(base_gguf)
        self.base = {t.name.decode(): torch.tensor(self.m.g.array(t.name.decode()).astype(np.float64), dtype=dtype)
                     for t in self.m.g.tensors}
        g = G.read(adapter_gguf)
        self.alpha = float(g.kv["adapter.lora.alpha"].value if alpha is None else alpha)
        self.targets = [t.name.decode()[:-len(".lora_a")] for t in g.tensors if t.name.decode().endswith(".lora_a")]
        self.names, self.params, self.scale = [], {}, {}
        for w in self.targets:
            a, b = g.array(w + ".lora_a"), g.array(w + ".lora_b")      # [rank, n_in], [n_out, rank]
            n_out, n_in = self.base[w].shape
            if a.shape[1] != n_in or b.shape[0] != n_out or a.shape[0] != b.shape[1]:
                raise ValueError(f"{adapter_gguf}: {w}: A {a.shape} and B {b.shape} do not fit W {tuple(self.base[w].shape)}")
            for suffix, x in ((".lora_a", a), (".lora_b", b)):
                self.names.append(w + suffix)
                self.params[w + suffix] = torch.tensor(x.astype(np.float64), dtype=dtype, requires_grad=True)
            self.scale[w] = self.alpha / a.shape[0]
        self._optimizer([{"params": [self.params[n] for n in self.names], "weight_decay": wd}],
                        lr, steps, warmup, schedule, min_lr_frac, clip, beta1, beta2, eps)

    def loss(self, x, y):
        """the base weights, with W + scale * B @ A for every adapted W (a new graph per micro-batch)"""
        w = dict(self.base)
        for t in self.targets:
            w[t] = self.base[t] + self.scale[t] * (self.params[t + ".lora_b"] @ self.params[t + ".lora_a"])
        self.m._w = w
        return super().loss(x, y)

    def adapter(self):
        """{weight name: (A [rank, n_in], B [n_out, rank])} as numpy float64, after the steps taken"""
        return {t: (self.params[t + ".lora_a"].detach().numpy(), self.params[t + ".lora_b"].detach().numpy())
                for t in self.targets}


def first_divergence(c_losses, ref_losses, rel_tol):
    """(step, c, ref, rel) of the first step whose losses differ by more than rel_tol, or None"""
    for i, (a, b) in enumerate(zip(c_losses, ref_losses)):
        rel = abs(a - b) / max(abs(b), 1e-12)
        if rel > rel_tol:
            return i + 1, a, b, rel
    return None


def read_weights(path):
    g = G.read(path)
    return {t.name.decode(): g.array(t.name.decode()) for t in g.tensors}
