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
from st_mem_reference import st_mem_vit  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--size', default='tiny')
p.add_argument('--batch', type=int, default=16)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--classes', type=int, default=5)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = st_mem_vit(a.size, num_classes=a.classes, drop_path_rate=0.1).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
x = torch.randn(a.batch, 12, 2250)
y = (torch.rand(a.batch, a.classes) < 0.3).float()


def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
    loss.backward()
    opt.step()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
elapsed = time.perf_counter() - t0
print(f'samples_per_s={a.batch * a.steps / elapsed:.4f}')
