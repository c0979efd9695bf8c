# PyTorch side of the GPU proof (scripts/gpu-proof.sh, phase torch_ref): the published ST-MEM ViT
# (tests/model/st_mem_reference.py) timed over the fine-tuning step ecgdist's `train` runs —
# forward, BCE-with-logits, backward, AdamW — on random [B, 12, 2250] input, bf16 autocast, plus
# an 8192^3 bf16 matrix product for the chip's reachable rate. Writes one JSON file.
# FLOPs per sample: bench/gpu/vit_flops.py (the formula is documented there).
import argparse
import json
import os
import statistics
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'tests', 'model'))
from st_mem_reference import st_mem_vit  # noqa: E402
sys.path.insert(0, here)
from vit_flops import H200_DENSE_BF16_TFLOPS, flops_per_sample  # noqa: E402


def timed(fn, iters, device, warmup):
    for _ in range(warmup):
        fn()
    if device == 'cuda':
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1000.0 / iters
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def matmul_tflops(device, n, repeats):
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    rates = [2 * n ** 3 / timed(lambda: a @ b, 10, device, 3) / 1e12 for _ in range(repeats)]
    return statistics.median(rates)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--device', default='cuda')
    p.add_argument('--size', default='base')
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--classes', type=int, default=5)
    p.add_argument('--steps', type=int, default=30)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--out', required=True)
    a = p.parse_args()
    dev = a.device
    if dev == 'cpu':  # the dry run: tiny work, the same code path
        a.steps, a.repeats, a.warmup = 2, 1, 1
    torch.manual_seed(0)
    result = {'device': dev, 'size': a.size, 'batch': a.batch, 'classes': a.classes,
              'precision': 'bf16 autocast (fp32 weights and AdamW)', 'torch': torch.__version__,
              'torch_cuda': torch.version.cuda}
    if dev == 'cuda':
        result['gpu'] = torch.cuda.get_device_name(0)
        result['nccl'] = '.'.join(map(str, torch.cuda.nccl.version()))
        torch.backends.cuda.matmul.allow_tf32 = True
    result['flops'] = flops_per_sample(a.size, classes=a.classes)
    result['flops']['six_params_tokens'] = 6 * sum(
        q.numel() for q in st_mem_vit(a.size, num_classes=a.classes).parameters()) * result['flops']['tokens']

    model = st_mem_vit(a.size, num_classes=a.classes, drop_path_rate=0.1).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    x = torch.randn(a.batch, 12, 2250, device=dev)
    y = (torch.rand(a.batch, a.classes, device=dev) < 0.3).float()

    def step():
        opt.zero_grad(set_to_none=True)
        # The dry run's CPU LibTorch 1.13 has no complete CPU bf16 autocast: fp32 there.
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == 'cuda'):
            logits = model(x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y)
        loss.backward()
        opt.step()

    times = [timed(step, a.steps, dev, a.warmup if i == 0 else 2) for i in range(a.repeats)]
    t = statistics.median(times)
    sps = a.batch / t
    result['step_seconds'] = t
    result['step_seconds_all'] = times
    result['samples_per_second'] = sps
    result['achieved_tflops'] = sps * result['flops']['train_step'] / 1e12
    if dev == 'cuda':
        result['peak_memory_gib'] = torch.cuda.max_memory_allocated() / 2 ** 30
        del model, opt
        torch.cuda.empty_cache()
        result['matmul_8192_bf16_tflops'] = matmul_tflops(dev, 8192, a.repeats)
        result['mfu_vs_datasheet'] = result['achieved_tflops'] / H200_DENSE_BF16_TFLOPS
        result['mfu_vs_measured_matmul'] = result['achieved_tflops'] / result['matmul_8192_bf16_tflops']
    else:
        result['matmul_1024_bf16_tflops_cpu'] = matmul_tflops(dev, 1024, 1)
    result['h200_dense_bf16_tflops_datasheet'] = H200_DENSE_BF16_TFLOPS
    with open(a.out, 'w') as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
