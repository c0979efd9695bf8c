# A pure-PyTorch port of the published ST-MEM encoder (github.com/bakqui/ST-MEM,
# models/encoder/st_mem_vit.py + models/encoder/vit.py), einops replaced by view/permute, used as
# the oracle for the C++ model (tests) and as the PyTorch side of bench/model_throughput.
# Kept operation-for-operation as published (e.g. the scale multiplies the scores, not q).
import torch
import torch.nn as nn


class DropPath(nn.Module):
    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob <= 0. or not self.training:
            return x
        keep_prob = 1 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        if keep_prob > 0.0:
            random_tensor.div_(keep_prob)
        return x * random_tensor


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x))


class FeedForward(nn.Module):
    def __init__(self, input_dim, output_dim, hidden_dim, drop_out_rate=0.):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.GELU(),
                                 nn.Dropout(drop_out_rate), nn.Linear(hidden_dim, output_dim),
                                 nn.Dropout(drop_out_rate))

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, input_dim, output_dim, heads=8, dim_head=64, qkv_bias=True,
                 drop_out_rate=0., attn_drop_out_rate=0.):
        super().__init__()
        inner_dim = dim_head * heads
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.attend = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(attn_drop_out_rate)
        self.to_qkv = nn.Linear(input_dim, inner_dim * 3, bias=qkv_bias)
        self.to_out = nn.Sequential(nn.Linear(inner_dim, output_dim), nn.Dropout(drop_out_rate))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        # 'b n (h d) -> b h n d'
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        attn = self.dropout(self.attend(dots))
        out = torch.matmul(attn, v)
        out = out.transpose(1, 2).reshape(b, n, -1)  # 'b h n d -> b n (h d)'
        return self.to_out(out)


class TransformerBlock(nn.Module):
    def __init__(self, input_dim, output_dim, hidden_dim, heads=8, dim_head=32, qkv_bias=True,
                 drop_out_rate=0., attn_drop_out_rate=0., drop_path_rate=0.):
        super().__init__()
        self.attn = PreNorm(input_dim, Attention(input_dim, output_dim, heads, dim_head, qkv_bias,
                                                 drop_out_rate, attn_drop_out_rate))
        self.droppath1 = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.ff = PreNorm(output_dim, FeedForward(output_dim, output_dim, hidden_dim,
                                                  drop_out_rate))
        self.droppath2 = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x):
        x = self.droppath1(self.attn(x)) + x
        x = self.droppath2(self.ff(x)) + x
        return x


class Identity(nn.Module):  # stands in for einops' Rearrange (index 0, no parameters)
    def forward(self, x):
        return x


class ST_MEM_ViT(nn.Module):
    def __init__(self, seq_len=2250, patch_size=75, num_leads=12, num_classes=None, width=768,
                 depth=12, mlp_dim=3072, heads=12, dim_head=64, qkv_bias=True, drop_out_rate=0.,
                 attn_drop_out_rate=0., drop_path_rate=0.):
        super().__init__()
        self.width, self.depth, self.patch_size = width, depth, patch_size
        num_patches = seq_len // patch_size
        self.to_patch_embedding = nn.Sequential(Identity(), nn.LayerNorm(patch_size),
                                                nn.Linear(patch_size, width), nn.LayerNorm(width))
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 2, width))
        self.sep_embedding = nn.Parameter(torch.randn(width))
        self.lead_embeddings = nn.ParameterList(nn.Parameter(torch.randn(width))
                                                for _ in range(num_leads))
        rates = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        for i in range(depth):
            self.add_module(f'block{i}', TransformerBlock(width, width, mlp_dim, heads, dim_head,
                                                          qkv_bias, drop_out_rate,
                                                          attn_drop_out_rate, rates[i]))
        self.dropout = nn.Dropout(drop_out_rate)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Identity() if num_classes is None else nn.Linear(width, num_classes)

    def forward_encoding(self, series, lead_indices=None):
        b, num_leads, length = series.shape
        x = series.reshape(b, num_leads, length // self.patch_size, self.patch_size)
        x = self.to_patch_embedding(x)
        b, _, n, _ = x.shape
        x = x + self.pos_embedding[:, 1:n + 1, :].unsqueeze(1)
        sep_embedding = self.sep_embedding[None, None, None, :]
        left_sep = sep_embedding.expand(b, num_leads, -1, -1) + self.pos_embedding[:, :1, :].unsqueeze(1)
        right_sep = sep_embedding.expand(b, num_leads, -1, -1) + self.pos_embedding[:, -1:, :].unsqueeze(1)
        x = torch.cat([left_sep, x, right_sep], dim=2)
        if lead_indices is None:
            lead_indices = range(len(self.lead_embeddings))
        lead_embeddings = torch.stack([self.lead_embeddings[i] for i in lead_indices]).unsqueeze(0)
        lead_embeddings = lead_embeddings.unsqueeze(2).expand(b, -1, n + 2, -1)
        x = x + lead_embeddings
        x = x.reshape(b, -1, x.shape[-1])  # 'b c n p -> b (c n) p'
        x = self.dropout(x)
        for i in range(self.depth):
            x = getattr(self, f'block{i}')(x)
        x = x.reshape(b, num_leads, -1, x.shape[-1])[:, :, 1:-1, :]
        x = torch.mean(x, dim=(1, 2))
        return self.norm(x)

    def forward(self, series, lead_indices=None):
        return self.head(self.forward_encoding(series, lead_indices))


SIZES = {'tiny': dict(width=192, depth=4, heads=3, mlp_dim=768),
         'small': dict(width=384, depth=12, heads=6, mlp_dim=1536),
         'base': dict(width=768, depth=12, heads=12, mlp_dim=3072)}


def st_mem_vit(size, num_classes=None, **kwargs):
    return ST_MEM_ViT(num_classes=num_classes, **SIZES[size], **kwargs)


class ST_MEM(nn.Module):
    """The published pretraining module (models/st_mem.py), einops replaced by view/reshape and
    random_masking replaced by given masks, so that the C++ port can be compared exactly."""

    def __init__(self, size, decoder_embed_dim=256, decoder_depth=4, decoder_num_heads=4,
                 seq_len=2250, patch_size=75, mlp_ratio=4, norm_pix_loss=True):
        super().__init__()
        self.patch_size, self.num_patches = patch_size, seq_len // patch_size
        self.norm_pix_loss = norm_pix_loss
        self.encoder = st_mem_vit(size, seq_len=seq_len, patch_size=patch_size)
        width = self.encoder.width
        self.to_decoder_embedding = nn.Linear(width, decoder_embed_dim)
        self.mask_embedding = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 2, decoder_embed_dim),
                                              requires_grad=False)
        self.decoder_blocks = nn.ModuleList([
            TransformerBlock(decoder_embed_dim, decoder_embed_dim, decoder_embed_dim * mlp_ratio,
                             decoder_num_heads, 64, True) for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        self.decoder_head = nn.Linear(decoder_embed_dim, patch_size)

    def forward_encoder(self, x, ids_keep):
        enc = self.encoder
        b, num_leads, length = x.shape
        x = enc.to_patch_embedding(x.reshape(b, num_leads, length // self.patch_size, self.patch_size))
        b, _, n, d = x.shape
        x = x + enc.pos_embedding[:, 1:n + 1, :].unsqueeze(1)
        x = torch.gather(x, dim=2, index=ids_keep.unsqueeze(-1).repeat(1, 1, 1, d))
        sep = enc.sep_embedding[None, None, None, :]
        left = sep.expand(b, num_leads, -1, -1) + enc.pos_embedding[:, :1, :].unsqueeze(1)
        right = sep.expand(b, num_leads, -1, -1) + enc.pos_embedding[:, -1:, :].unsqueeze(1)
        x = torch.cat([left, x, right], dim=2)
        lead = torch.stack([enc.lead_embeddings[i] for i in range(num_leads)]).unsqueeze(0)
        x = x + lead.unsqueeze(2).expand(b, -1, x.shape[2], -1)
        x = x.reshape(b, -1, d)
        for i in range(enc.depth):
            x = getattr(enc, f'block{i}')(x)
        return enc.norm(x)

    def forward_decoder(self, x, ids_restore, num_leads):
        x = self.to_decoder_embedding(x)
        b = x.shape[0]
        x = x.reshape(b, num_leads, -1, x.shape[-1])
        _, _, n_masked_with_sep, d = x.shape
        n = ids_restore.shape[2]
        mask_embeddings = self.mask_embedding.unsqueeze(1).repeat(b, num_leads, n + 2 - n_masked_with_sep, 1)
        x_wo_sep = torch.cat([x[:, :, 1:-1, :], mask_embeddings], dim=2)
        x_wo_sep = torch.gather(x_wo_sep, dim=2, index=ids_restore.unsqueeze(-1).repeat(1, 1, 1, d))
        x_wo_sep = x_wo_sep + self.decoder_pos_embed[:, 1:n + 1, :].unsqueeze(1)
        left = x[:, :, :1, :] + self.decoder_pos_embed[:, :1, :].unsqueeze(1)
        right = x[:, :, -1:, :] + self.decoder_pos_embed[:, -1:, :].unsqueeze(1)
        x = torch.cat([left, x_wo_sep, right], dim=2)
        decoded = []
        for i in range(num_leads):
            x_lead = x[:, i, :, :]
            for block in self.decoder_blocks:
                x_lead = block(x_lead)
            decoded.append(self.decoder_head(self.decoder_norm(x_lead))[:, 1:-1, :])
        return torch.stack(decoded, dim=1)

    def forward(self, series, ids_keep, ids_restore, mask):
        b, num_leads, length = series.shape
        pred = self.forward_decoder(self.forward_encoder(series, ids_keep), ids_restore, num_leads)
        target = series.reshape(b, num_leads, length // self.patch_size, self.patch_size)
        if self.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6) ** .5
        loss = ((pred - target) ** 2).mean(dim=-1)
        return (loss * mask).sum() / mask.sum(), pred
