# Matrix-product FLOPs of one ST-MEM ViT sample (forward, and a training step). No torch needed:
# scripts/gpu-proof.sh's summary uses it for ecgdist's MFU too.
#
# With L leads, P = seq_len/patch patches per lead, N = L*(P+2) tokens (two SEP tokens per lead),
# width d, inner attention width a = heads*dim_head (= d for every ST-MEM size), MLP width m,
# depth D, C classes, patch length p:
#   patch embedding   2 * L*P * p * d
#   per block         2*N*d*3a (qkv) + 2*N*a*d (out) + 2*N^2*a (q k^T) + 2*N^2*a (attn v) + 4*N*d*m (MLP)
#   head              2 * d * C
# A training step is 3x the forward (backward = input gradients + weight gradients, each as costly
# as the forward), except the patch embedding, whose input needs no gradient (2x). Elementwise
# work, norms, softmax and AdamW are not counted, as usual for MFU. The common 6 * params * tokens
# misses the two N^2 attention products (about 8 % of the base model's step at N = 384).
SIZES = {'tiny': dict(width=192, depth=4, heads=3, mlp_dim=768),
         'small': dict(width=384, depth=12, heads=6, mlp_dim=1536),
         'base': dict(width=768, depth=12, heads=12, mlp_dim=3072)}

H200_DENSE_BF16_TFLOPS = 989.4  # datasheet, dense (1979 with 2:4 sparsity)


def flops_per_sample(size, leads=12, seq_len=2250, patch=75, classes=5, dim_head=64):
    s = SIZES[size]
    d, depth, heads, m = s['width'], s['depth'], s['heads'], s['mlp_dim']
    a = heads * dim_head
    patches = seq_len // patch
    n = leads * (patches + 2)
    embed = 2 * leads * patches * patch * d
    block = 2 * n * d * 3 * a + 2 * n * a * d + 4 * n * n * a + 4 * n * d * m
    head = 2 * d * classes
    return {'tokens': n,
            'forward': embed + depth * block + head,
            'train_step': 2 * embed + 3 * (depth * block + head),
            'attention_n2_share_of_step': 3 * depth * 4 * n * n * a / (2 * embed + 3 * (depth * block + head))}
