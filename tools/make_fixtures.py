#!/usr/bin/env python3
"""Builds tiny random-weight checkpoints and Hugging Face transformers reference outputs.

Run on a machine with torch + transformers (the GPU machine has them; CPU is enough):
    python3 tools/make_fixtures.py --out tests/data/models

For every config below it writes <out>/<name>/:
    config.json, model.safetensors (or shards + model.safetensors.index.json)  -- save_pretrained
    logits.npy    float32 [T, V], teacher-forced logits of the prompt (eager attention, fp32)
    golden.json   prompt token ids, greedy continuation ids, library versions

Every parameter is randomized (norm weights around their identity value, nothing left at its
initial value), sliding windows are shorter than the prompt, and the greedy continuation is
computed with full recomputation (no KV cache) so it does not depend on HF's cache code.
"""

import argparse
import json
import os

import numpy as np
import torch
import transformers

PROMPT_LEN = 24
GREEDY_STEPS = 8


def llama_smol_config():
    # SmolLM2-shaped: tied embeddings, GQA, no RoPE scaling.
    return transformers.LlamaConfig(
        vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5,
        rope_theta=10000.0, max_position_embeddings=256, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=0)


def llama3_config():
    # Llama-3.x-shaped: llama3 RoPE frequency scaling, untied head, head_dim != hidden/heads,
    # one KV head.
    return transformers.LlamaConfig(
        vocab_size=384, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=1, head_dim=32, rms_norm_eps=1e-5,
        rope_theta=500000.0, max_position_embeddings=512, tie_word_embeddings=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        bos_token_id=1, eos_token_id=2, pad_token_id=0)


def gemma3_config(softcap=False):
    # Gemma-3-270M-shaped: 5 sliding : 1 full, window shorter than the prompt,
    # query_pre_attn_scalar != head_dim so the scale must come from the config.
    layer_types = ["sliding_attention"] * 5 + ["full_attention"] + ["sliding_attention"]
    kw = dict(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=7,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=24,
        rms_norm_eps=1e-6, sliding_window=5, layer_types=layer_types,
        max_position_embeddings=256, tie_word_embeddings=True,
        hidden_activation="gelu_pytorch_tanh", bos_token_id=2, eos_token_id=1, pad_token_id=0,
        final_logit_softcapping=(30.0 if softcap else None),
        attn_logit_softcapping=(20.0 if softcap else None))
    # transformers 5.x takes per-layer-type RoPE in rope_parameters; 4.x takes the old keys.
    try:
        cfg = transformers.Gemma3TextConfig(
            rope_parameters={
                "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            **kw)
    except TypeError:
        cfg = transformers.Gemma3TextConfig(rope_theta=1000000.0, rope_local_base_freq=10000.0, **kw)
    return cfg


FIXTURES = {
    "llama_smol": (llama_smol_config, transformers.LlamaForCausalLM, None),
    "llama3_scaled": (llama3_config, transformers.LlamaForCausalLM, None),
    "gemma3_tiny": (gemma3_config, transformers.Gemma3ForCausalLM, "400KB"),
    "gemma3_softcap": (lambda: gemma3_config(softcap=True), transformers.Gemma3ForCausalLM, None),
}


def randomize(model, gen, gemma_norms):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                # Norm weights: Gemma stores offsets from 1 (x̂·(1+w)), Llama the multiplier.
                base = 0.0 if gemma_norms else 1.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name:
                # Gemma multiplies embeddings by sqrt(hidden); keep the residual stream O(1)
                # so the layers, not the token's own embedding, decide the next token.
                std = 1.0 / model.config.hidden_size ** 0.5 if gemma_norms else 1.0
                p.copy_(torch.randn(p.shape, generator=gen) * std)
            else:
                fan_in = p.shape[1]
                p.copy_(torch.randn(p.shape, generator=gen) * (1.5 / fan_in ** 0.5))


def make(name, out_root, seed):
    make_cfg, cls, shard = FIXTURES[name]
    cfg = make_cfg()
    torch.manual_seed(seed)
    model = cls(cfg).to(torch.float32)
    try:
        model.set_attn_implementation("eager")
    except Exception:
        model.config._attn_implementation = "eager"
    gen = torch.Generator().manual_seed(seed)
    randomize(model, gen, gemma_norms=name.startswith("gemma"))
    if cfg.tie_word_embeddings:
        model.tie_weights()
    model.eval()

    ids_gen = torch.Generator().manual_seed(seed + 1)
    bos = cfg.bos_token_id
    body = torch.randint(3, cfg.vocab_size, (PROMPT_LEN - 1,), generator=ids_gen)
    prompt = torch.cat([torch.tensor([bos]), body]).unsqueeze(0)

    with torch.no_grad():
        logits = model(prompt, use_cache=False).logits[0].float().numpy()
        seq = prompt.clone()
        greedy = []
        for _ in range(GREEDY_STEPS):
            nxt = int(model(seq, use_cache=False).logits[0, -1].argmax())
            greedy.append(nxt)
            seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
        # The same continuation through HF's own KV cache, as a cross-check of the above.
        try:
            cached = model.generate(prompt, max_new_tokens=GREEDY_STEPS, do_sample=False,
                                    min_new_tokens=GREEDY_STEPS, pad_token_id=0)
            cached = cached[0, PROMPT_LEN:].tolist()
        except Exception as e:  # the cross-check is informative only
            cached = f"generate failed: {e}"


    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    kwargs = {"safe_serialization": True}
    if shard:
        kwargs["max_shard_size"] = shard
    model.save_pretrained(out, **kwargs)
    np.save(os.path.join(out, "logits.npy"), logits.astype(np.float32))
    sorted_top = np.sort(logits, axis=-1)
    golden = {
        "prompt": prompt[0].tolist(),
        "greedy": greedy,
        "greedy_hf_cache": cached,
        "min_top2_gap": float((sorted_top[:, -1] - sorted_top[:, -2]).min()),
        "max_abs_logit": float(np.abs(logits).max()),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "seed": seed,
        "attn_implementation": "eager",
        "dtype": "float32",
    }
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(f"{name}: T={PROMPT_LEN} V={logits.shape[1]} greedy={greedy} cache_greedy={cached} "
          f"gap={golden['min_top2_gap']:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "models"))
    ap.add_argument("--only", nargs="*", default=sorted(FIXTURES))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    for name in args.only:
        make(name, args.out, seed=1234 + 17 * sorted(FIXTURES).index(name))


if __name__ == "__main__":
    main()
