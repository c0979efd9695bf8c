# PyTorch DDP (gloo) reference for bench/ddp/compare.sh: the same ST-MEM model (tests/model's port
# of the published encoder), the same data file, global batch, random 2250-sample crops, BCE
# loss and AdamW as `ecgdist train --recipe fine-tune`, ranks started by hand (Debian's torchrun
# is broken): MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE, init_method env://.
# --dtype bf16 casts the model and its inputs to bf16 (plain PyTorch on the CPU: 1.13's CPU
# autocast fails on this model), the loss in fp32. gloo cannot broadcast or all-reduce bf16
# ("Invalid scalar type"), so that variant is not wrapped in DDP: after backward its gradients are
# flattened, cast to fp32, all-reduced in one call and averaged (no overlap with backward).
# --compress fp16 registers DDP's fp16_compress_hook (gradients travel in fp16, averaged first;
# its bf16 hook needs NCCL: gloo has no bf16 sum).
# Prints "samples_per_s=<float>" on rank 0 (global samples per second of timed steps).
import argparse
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.distributed as dist

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'tests', 'model'))
from st_mem_reference import st_mem_vit  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--data', required=True)
p.add_argument('--task', default='superdiagnostic')
p.add_argument('--size', default='tiny')
p.add_argument('--batch', type=int, default=32, help='global batch')
p.add_argument('--steps', type=int, default=20)
p.add_argument('--warmup', type=int, default=2)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--dtype', choices=['fp32', 'bf16'], default='fp32')
p.add_argument('--compress', choices=['none', 'fp16'], default='none')
a = p.parse_args()

rank = int(os.environ['RANK'])
world = int(os.environ['WORLD_SIZE'])
torch.set_num_threads(a.threads)
dist.init_process_group('gloo', init_method='env://')

with h5py.File(a.data, 'r') as f:
    fold = f['fold'][:]
    labels = f['labels'][a.task][:]
    train = np.where((fold <= 8) & (labels.sum(1) > 0))[0]
    # Preloaded: the reference gets its data for free (its I/O is not timed at all).
    signals = torch.from_numpy(f['signals'][np.sort(train)])
    y_all = torch.from_numpy(labels[np.sort(train)].astype(np.float32))

torch.manual_seed(0)
model = st_mem_vit(a.size, num_classes=y_all.shape[1], drop_path_rate=0.0).train()
dtype = torch.bfloat16 if a.dtype == 'bf16' else torch.float32
model = model.to(dtype)
if dtype == torch.float32:
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    if a.compress == 'fp16':
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        ddp.register_comm_hook(None, default_hooks.fp16_compress_hook)
else:
    ddp = model
    for p_ in model.parameters():  # rank 0's start everywhere, as DDP does
        start = p_.data.float()
        dist.broadcast(start, 0)
        p_.data.copy_(start)
opt = torch.optim.AdamW(ddp.parameters(), lr=1e-4, weight_decay=0.05)


def allreduce_bf16_grads():
    grads = [p_.grad for p_ in model.parameters() if p_.grad is not None]
    flat = torch.cat([g.reshape(-1).float() for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
local = a.batch // world
gen = torch.Generator().manual_seed(1)


def step():
    idx = torch.randint(0, signals.shape[0], (a.batch,), generator=gen)[rank::world]
    off = int(torch.randint(0, signals.shape[2] - 2250 + 1, (1,), generator=gen))
    x = signals[idx, :, off:off + 2250].to(dtype)
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(ddp(x).float(), y_all[idx])
    loss.backward()
    if dtype != torch.float32:
        allreduce_bf16_grads()
    opt.step()


for _ in range(a.warmup):
    step()
dist.barrier()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
dist.barrier()
dt = time.perf_counter() - t0
if rank == 0:
    print(f'samples_per_s={a.steps * a.batch / dt:.3f}')
dist.destroy_process_group()
