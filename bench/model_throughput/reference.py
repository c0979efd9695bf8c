# PyTorch side of bench/model_throughput: the published ST-MEM encoder (tests/model's port),
# timed over the same training step as the C++ side (forward + BCE-with-logits + backward +
# AdamW), same batch, same thread count. Prints one line: "samples_per_s=<float>".
# The stronger anchors (bench/anchor/README.md):
#   --dtype bf16   the whole model, optimiser state included, in bf16 (the loss in fp32);
#   --autocast     fp32 weights under CPU bf16 autocast instead (PyTorch >= 2: 1.13's fails on
#                  ST-MEM's LayerNorm);
#   --sdpa         the attention through F.scaled_dot_product_attention (PyTorch >= 2);
#   --compile      torch.compile of the model (PyTorch >= 2; the warm-up steps include compiling).
import argparse
import contextlib
import os
import sys
import time

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'tests', 'model'))
import st_mem_reference  # noqa: E402
from st_mem_reference import ST_MEM, st_mem_vit  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--size', default='tiny')
p.add_argument('--batch', type=int, default=16)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--classes', type=int, default=5)
p.add_argument('--objective', default='classify', choices=['classify', 'pretrain'])
p.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16'])
p.add_argument('--autocast', action='store_true')
p.add_argument('--sdpa', action='store_true')
p.add_argument('--compile', action='store_true')
a = p.parse_args()
if a.autocast and a.dtype == 'bf16':
    sys.exit('--autocast keeps fp32 weights: use it with --dtype fp32')
if (a.sdpa or a.compile or a.autocast) and int(torch.__version__.split('.')[0]) < 2:
    sys.exit(f'--sdpa, --compile and --autocast need PyTorch >= 2 (this is {torch.__version__}); '
             'run it with bench/anchor/trixie_python.sh')

if a.sdpa:
    def sdpa_forward(self, x):
        b, n, _ = x.shape
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v)  # scale dh^-0.5, as published
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))
    st_mem_reference.Attention.forward = sdpa_forward

DECODER = {'tiny': dict(decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=2)}
dtype = torch.bfloat16 if a.dtype == 'bf16' else torch.float32


def autocast():
    if not a.autocast:
        return contextlib.nullcontext()
    return torch.autocast('cpu', dtype=torch.bfloat16)


torch.set_num_threads(a.threads)
torch.manual_seed(0)
x = torch.randn(a.batch, 12, 2250).to(dtype)
if a.objective == 'classify':
    model = st_mem_vit(a.size, num_classes=a.classes, drop_path_rate=0.1).train().to(dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    y = (torch.rand(a.batch, a.classes) < 0.3).float()
    forward = torch.compile(model) if a.compile else model

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            logits = forward(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y)
        loss.backward()
        opt.step()
else:
    model = ST_MEM(a.size, **DECODER.get(a.size, {})).train().to(dtype)
    model.encoder.pos_embedding.requires_grad = False
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4,
                            betas=(0.9, 0.95), weight_decay=0.05)
    forward = torch.compile(model) if a.compile else model

    def step():
        # ST-MEM's random_masking: per-sample, per-lead noise, 25 % of 30 patches kept.
        noise = torch.rand(a.batch, 12, 30)
        ids_shuffle = torch.argsort(noise, dim=2)
        ids_restore = torch.argsort(ids_shuffle, dim=2)
        mask = torch.ones(a.batch, 12, 30, dtype=dtype)
        mask[:, :, :7] = 0
        mask = torch.gather(mask, 2, ids_restore)
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss, _ = forward(x, ids_shuffle[:, :, :7], ids_restore, mask)
        loss.float().backward()
        opt.step()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
elapsed = time.perf_counter() - t0
print(f'samples_per_s={a.batch * a.steps / elapsed:.4f}')
