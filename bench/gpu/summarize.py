# Assembles scripts/gpu-proof.sh's results: every phase's status and wall time, versions, and the
# numbers of each phase, into OUT/gpu-proof.json and a readable OUT/gpu-proof.md. Run after every
# phase (a run cut short still leaves a complete file). Standard library only.
import argparse
import csv
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_flops import H200_DENSE_BF16_TFLOPS, flops_per_sample  # noqa: E402

ORDER = ['unpack', 'build', 'check_leaks', 'data', 'train', 'nccl', 'pretrain', 'throughput', 'torch_ref']


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def last_epoch_rate(history_path, results):
    """Samples/s of the last epoch alone (history.csv 'seconds' is the epoch's training loop)."""
    try:
        with open(history_path) as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    if not rows or not results or not results.get('samples_seen'):
        return None
    per_epoch = results['samples_seen'] / len(rows)  # one stage, equal epochs (drop-last batches)
    secs = float(rows[-1]['seconds'])
    return per_epoch / secs if secs > 0 else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--state', required=True)
    p.add_argument('--logs', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--mode', required=True)
    p.add_argument('--started', type=float, required=True)
    a = p.parse_args()
    s = a.state
    phases = {}
    for f in glob.glob(os.path.join(s, '*.phase.json')):
        r = load(f)
        if r:
            phases[r['name']] = r
    ordered = [phases[n] for n in ORDER if n in phases] + [v for k, v in phases.items() if k not in ORDER]
    try:
        versions = open(os.path.join(s, 'versions.txt')).read().strip().splitlines()
    except OSError:
        versions = []
    size = 'base' if a.mode == 'gpu' else 'tiny'
    flops = flops_per_sample(size)
    peak = H200_DENSE_BF16_TFLOPS
    ref = load(os.path.join(s, 'torch_ref.json'))
    measured_peak = (ref or {}).get('matmul_8192_bf16_tflops')

    def mfu(sps):
        if not sps or a.mode != 'gpu':
            return {}
        tf = sps * flops['train_step'] / 1e12
        out = {'achieved_tflops': tf, 'mfu_vs_datasheet': tf / peak}
        if measured_peak:
            out['mfu_vs_measured_matmul'] = tf / measured_peak
        return out

    numbers = {}
    tr = load(os.path.join(s, 'train.results.json'))
    if tr:
        numbers['train_post'] = {'samples_per_second': tr.get('samples_per_second'),
                                 'test_macro_auroc': (tr.get('test') or {}).get('macro_auroc'),
                                 'wall_seconds': tr.get('wall_seconds'),
                                 'note': 'post-train mixes linear-probe steps (frozen encoder) with '
                                         'fine-tuning steps: not comparable with the reference'}
    pt = load(os.path.join(s, 'pretrain.results.json'))
    if pt:
        numbers['pretrain'] = {k: pt.get(k) for k in ('samples_per_second', 'wall_seconds')}
    tp = load(os.path.join(s, 'throughput.results.json'))
    if tp:
        steady = last_epoch_rate(os.path.join(s, 'throughput.history.csv'), tp)
        numbers['ecgdist_finetune_step'] = {
            'samples_per_second_results_json': tp.get('samples_per_second'),
            'samples_per_second_last_epoch': steady,
            'mfu_results_json': mfu(tp.get('samples_per_second')),
            'mfu_last_epoch': mfu(steady)}
    if ref:
        numbers['pytorch_reference'] = ref
    g = load(os.path.join(s, 'nccl.gtest.json'))
    if g:
        numbers['mpi_suite'] = [{'name': f"{suite['name']}.{t['name']}", 'result': t.get('result'),
                                 'status': t.get('status'), 'failures': len(t.get('failures', []))}
                                for suite in g.get('testsuites', []) for t in suite.get('testsuite', [])]
    ecg = numbers.get('ecgdist_finetune_step', {})
    if ref and ecg.get('samples_per_second_last_epoch') and ref.get('samples_per_second'):
        numbers['ecgdist_over_pytorch'] = ecg['samples_per_second_last_epoch'] / ref['samples_per_second']

    failed = [r['name'] for r in ordered if r['status'] != 'passed']
    doc = {'mode': a.mode, 'model': size, 'written': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
           'elapsed_seconds': round(time.time() - a.started, 1), 'passed': not failed and bool(ordered),
           'failed_phases': failed, 'phases': ordered, 'versions': versions,
           'flops_per_sample': flops, 'h200_dense_bf16_tflops_datasheet': peak, 'numbers': numbers}
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, 'gpu-proof.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(doc, f, indent=2)
    os.replace(tmp, os.path.join(a.out, 'gpu-proof.json'))

    def fmt(v, spec='.1f'):
        return '-' if v is None else format(v, spec)

    md = [f"# GPU proof ({a.mode}, model {size})", '',
          f"Written {doc['written']}, {doc['elapsed_seconds']} s after the start. "
          f"Overall: **{'PASS' if doc['passed'] else 'FAIL'}**" + (f" (not passed: {', '.join(failed)})" if failed else ''),
          '', '| phase | status | seconds | limit s |', '| --- | --- | --- | --- |']
    md += [f"| {r['name']} | {r['status']} | {r['seconds']} | {r.get('limit_s', '-')} |" for r in ordered]
    md += ['', '## Throughput (fine-tuning step, batch as run)', '',
           '| what | samples/s | TFLOP/s | MFU vs 989 | MFU vs measured matmul |', '| --- | --- | --- | --- | --- |']
    for label, sps, m in [('ecgdist, results.json (all steps)', ecg.get('samples_per_second_results_json'), ecg.get('mfu_results_json', {})),
                          ('ecgdist, last epoch', ecg.get('samples_per_second_last_epoch'), ecg.get('mfu_last_epoch', {})),
                          ('PyTorch eager reference', (ref or {}).get('samples_per_second'), ref or {})]:
        md.append(f"| {label} | {fmt(sps)} | {fmt(m.get('achieved_tflops'))} | {fmt(m.get('mfu_vs_datasheet'), '.3f')} | "
                  f"{fmt(m.get('mfu_vs_measured_matmul'), '.3f')} |")
    md += ['', f"8192^3 bf16 matmul: {fmt(measured_peak)} TFLOP/s measured; datasheet {peak}. "
           f"FLOPs per sample ({size}, training step): {flops['train_step'] / 1e9:.2f} G "
           f"(formula: bench/gpu/vit_flops.py).", '']
    if 'ecgdist_over_pytorch' in numbers:
        md.append(f"ecgdist / PyTorch (last epoch vs reference): {numbers['ecgdist_over_pytorch']:.2f}x")
    for k in ('train_post', 'pretrain'):
        if k in numbers:
            md.append(f"- {k}: " + ', '.join(f"{kk}={vv}" for kk, vv in numbers[k].items() if kk != 'note'))
    if 'mpi_suite' in numbers:
        md += ['', '## MPI/NCCL tests', ''] + [f"- {t['name']}: {t['result']} ({t['status']})" for t in numbers['mpi_suite']]
    md += ['', '## Versions', '', '```'] + versions + ['```', '']
    with open(os.path.join(a.out, 'gpu-proof.md'), 'w') as f:
        f.write('\n'.join(md))


if __name__ == '__main__':
    main()
