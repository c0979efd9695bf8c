# PyTorch side of bench/model_throughput: the published ST-MEM encoder (tests/model's port),
# timed over the same training step as the C++ side (forward + BCE-with-logits + backward +
# AdamW), same batch, same thread count. Prints one line: "samples_per_s=<float>".
import argparse
import os
import sys
import time

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import torch  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'tests', 'model'))
from st_mem_reference import ST_MEM, st_mem_vit  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--size', default='tiny')
p.add_argument('--batch', type=int, default=16)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--classes', type=int, default=5)
p.add_argument('--objective', default='classify', choices=['classify', 'pretrain'])
a = p.parse_args()
DECODER = {'tiny': dict(decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=2)}

torch.set_num_threads(a.threads)
torch.manual_seed(0)
x = torch.randn(a.batch, 12, 2250)
if a.objective == 'classify':
    model = st_mem_vit(a.size, num_classes=a.classes, drop_path_rate=0.1).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    y = (torch.rand(a.batch, a.classes) < 0.3).float()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
else:
    model = ST_MEM(a.size, **DECODER.get(a.size, {})).train()
    model.encoder.pos_embedding.requires_grad = False
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4,
                            betas=(0.9, 0.95), weight_decay=0.05)

    def step():
        # ST-MEM's random_masking: per-sample, per-lead noise, 25 % of 30 patches kept.
        noise = torch.rand(a.batch, 12, 30)
        ids_shuffle = torch.argsort(noise, dim=2)
        ids_restore = torch.argsort(ids_shuffle, dim=2)
        mask = torch.ones(a.batch, 12, 30)
        mask[:, :, :7] = 0
        mask = torch.gather(mask, 2, ids_restore)
        opt.zero_grad(set_to_none=True)
        loss, _ = model(x, ids_shuffle[:, :, :7], ids_restore, mask)
        loss.backward()
        opt.step()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
elapsed = time.perf_counter() - t0
print(f'samples_per_s={a.batch * a.steps / elapsed:.4f}')
