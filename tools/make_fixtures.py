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

Gemma 3n fixtures (gemma3n_tiny, gemma3n_alt) differ in three ways (make_gemma3n):
  - The reference logits and the greedy continuation are computed WITH a fresh DynamicCache on
    every full-recompute forward: in some transformers versions the KV-shared (consumer) layers
    only take the producer's K/V when a cache object exists, and give wrong logits with
    use_cache=False. The use_cache=False logits are compared and the difference recorded.
  - The checkpoint is saved before the first forward (older transformers clamped AltUp
    correction coefficients in place during forward, which would hide clipping in the file).
  - golden.json carries extra, informative checks (stepwise decode vs prefill, reload from the
    written files, softcap effect, AltUp coefficient clipping variants).
"""

import argparse
import copy
import json
import os
import traceback

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


def gemma3n_config(alt=False):
    if not alt:
        # E2B-shaped in miniature: 4 sliding : 1 full, the last 4 layers share K/V (6, 7, 8 reuse
        # sliding layer 5, 9 reuses full layer 4), sparse MLP gates in layers 0-2, per-layer FFN
        # widths, 4 AltUp streams. Window 5 < prompt 24. vocab_size 512 > vocab_size_per_layer_input
        # 480 (= the SentencePiece vocabulary), like the real 262400 / 262144.
        n = 10
        kw = dict(
            vocab_size=512, vocab_size_per_layer_input=480, hidden_size=64,
            intermediate_size=[128, 96, 128, 160, 64, 96, 128, 160, 96, 128],
            num_hidden_layers=n, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
            layer_types=["full_attention" if (i + 1) % 5 == 0 else "sliding_attention" for i in range(n)],
            sliding_window=5, num_kv_shared_layers=4,
            activation_sparsity_pattern=[0.95] * 3 + [0.0] * (n - 3),
            altup_num_inputs=4, altup_active_idx=0, altup_coef_clip=120.0, altup_correct_scale=True,
            hidden_size_per_layer_input=16, laurel_rank=8)
    else:
        # Different AltUp / LAuReL / PLE sizes than the real model and gemma3n_tiny: 3 streams,
        # rank 4, PLE width 8; a scalar intermediate_size; 1 KV head (GQA group 4), head_dim 16.
        # Full attention every 3rd layer (layers 2 and 5), the last 2 layers share K/V: layer 4
        # (sliding) reuses layer 3 and layer 5 (full) reuses layer 2, i.e. the general "last layer
        # of the same type before the boundary" rule, NOT llama.cpp's fixed boundary-2 / boundary-1.
        # Sparsity only in layer 0. altup_coef_clip 0.5 is far below the spread of the random
        # prediction/correction coefficients (std 0.35, see GEMMA3N_COEF_STD), so clamping them
        # changes the logits. transformers 5.17 clamps neither matrix in eval (only in training
        # mode), so logits.npy is unclamped; golden.json["altup_coef_clip"] records how far clamped
        # variants (JAX / ollama semantics) would differ.
        n = 6
        kw = dict(
            vocab_size=384, vocab_size_per_layer_input=320, hidden_size=64, intermediate_size=80,
            num_hidden_layers=n, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
            layer_types=["full_attention" if (i + 1) % 3 == 0 else "sliding_attention" for i in range(n)],
            sliding_window=4, num_kv_shared_layers=2,
            activation_sparsity_pattern=[0.95] + [0.0] * (n - 1),
            altup_num_inputs=3, altup_active_idx=0, altup_coef_clip=0.5, altup_correct_scale=True,
            hidden_size_per_layer_input=8, laurel_rank=4)
    kw.update(rms_norm_eps=1e-6, final_logit_softcapping=30.0, max_position_embeddings=256,
              tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh",
              bos_token_id=2, eos_token_id=1, pad_token_id=0)
    try:
        cfg = transformers.Gemma3nTextConfig(
            rope_parameters={
                "full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
            **kw)
    except TypeError:
        cfg = transformers.Gemma3nTextConfig(rope_theta=1000000.0, rope_local_base_freq=10000.0, **kw)
    return cfg


# name: (config, model class, max shard size or None)
FIXTURES = {
    "llama_smol": (llama_smol_config, transformers.LlamaForCausalLM, None),
    "llama3_scaled": (llama3_config, transformers.LlamaForCausalLM, None),
    "gemma3_tiny": (gemma3_config, transformers.Gemma3ForCausalLM, "400KB"),
    "gemma3_softcap": (lambda: gemma3_config(softcap=True), transformers.Gemma3ForCausalLM, None),
    "gemma3n_tiny": (gemma3n_config, getattr(transformers, "Gemma3nForCausalLM", None), 900_000),
    "gemma3n_alt": (lambda: gemma3n_config(alt=True), getattr(transformers, "Gemma3nForCausalLM", None),
                    None),
}

# Fixed per fixture. The first four are the values the original 1234 + 17 * (index in the sorted
# list of those four) gave, so adding fixtures does not change existing ones.
SEEDS = {"gemma3_softcap": 1234, "gemma3_tiny": 1251, "llama3_scaled": 1268, "llama_smol": 1285,
         "gemma3n_tiny": 1302, "gemma3n_alt": 1319}

# Std of the random AltUp coefficient weights (prediction [A*A, A], correction [A, A]).
GEMMA3N_COEF_STD = {"gemma3n_tiny": 0.2, "gemma3n_alt": 0.35}
# Consumer (KV-shared) layers of these fixtures also get the k_proj / v_proj / k_norm tensors that
# published Gemma 3n checkpoints (and llama.cpp's loader) have but that are never used; newer
# transformers does not even instantiate them. gemma3n_alt keeps transformers' own layout.
GEMMA3N_UNUSED_KV = {"gemma3n_tiny"}


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
    if name.startswith("gemma3n"):
        return make_gemma3n(name, out_root, seed)
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


# ----------------------------------------------------------------------------------------------
# Gemma 3n


def randomize_gemma3n(model, gen, cfg, coef_std):
    """Every parameter random. Gemma 3n norms compute x̂·w (no 1+w), so 1-D weights (all norms and
    altup.correct_output_scale, which transformers initialises to zeros) are drawn around 1.0."""
    D, P = cfg.hidden_size, cfg.hidden_size_per_layer_input
    vp = cfg.vocab_size_per_layer_input
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen)
            if p.dim() == 1:
                p.copy_(1.0 + 0.2 * r)
            elif "embed_tokens_per_layer" in name:
                # ×sqrt(P) at run time: the token part of the per-layer input is O(1).
                p.copy_(r / P ** 0.5)
            elif "embed_tokens" in name:
                # ×sqrt(D) at run time: the residual stream starts O(1). Rows past the
                # SentencePiece vocabulary repeat the pad row 0, as in the published checkpoints
                # (whose HF converter filled rows 262144..262399 with copies of row 0).
                p.copy_(r / D ** 0.5)
                p[vp:] = p[0]
            elif "modality_router" in name:
                # Router input is RMSNorm(x)/D: this std makes the pre-tanh values ~N(0, 0.7²).
                p.copy_(r * 0.7 * D ** 0.5)
            elif "prediction_coefs" in name or "correction_coefs" in name:
                p.copy_(r * coef_std)
            else:
                p.copy_(r * (1.0 / p.shape[1] ** 0.5))


def unused_kv_tensors(model, cfg, gen):
    """Random k_proj / v_proj / k_norm for the KV-shared layers (never used by the math)."""
    first = cfg.num_hidden_layers - cfg.num_kv_shared_layers
    kv, D = cfg.num_key_value_heads * cfg.head_dim, cfg.hidden_size
    extra = {}
    for i in range(first, cfg.num_hidden_layers):
        attn = model.model.layers[i].self_attn
        pre = f"model.layers.{i}.self_attn."
        for proj in ("k_proj", "v_proj"):
            if not hasattr(attn, proj):
                extra[pre + proj + ".weight"] = torch.randn((kv, D), generator=gen) / D ** 0.5
        if not hasattr(attn, "k_norm"):
            extra[pre + "k_norm.weight"] = 1.0 + 0.2 * torch.randn((cfg.head_dim,), generator=gen)
    return extra


def write_shards(out, tensors, max_bytes):
    """Rewrites <out> as model-0000i-of-0000n.safetensors + model.safetensors.index.json."""
    from safetensors.torch import save_file
    for f in os.listdir(out):
        if f.startswith("model") and (f.endswith(".safetensors") or f.endswith(".index.json")):
            os.remove(os.path.join(out, f))
    shards, cur, cur_bytes = [], {}, 0
    for k in sorted(tensors):
        nb = tensors[k].numel() * tensors[k].element_size()
        if cur and cur_bytes + nb > max_bytes:
            shards.append(cur)
            cur, cur_bytes = {}, 0
        cur[k] = tensors[k].contiguous()
        cur_bytes += nb
    shards.append(cur)
    weight_map, total = {}, 0
    for i, sh in enumerate(shards):
        fn = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(sh, os.path.join(out, fn), metadata={"format": "pt"})
        for k, t in sh.items():
            weight_map[k] = fn
            total += t.numel() * t.element_size()
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2,
                  sort_keys=True)
    return [len(s) for s in shards]


def new_cache(cfg):
    try:
        return transformers.DynamicCache(config=cfg)
    except TypeError:
        return transformers.DynamicCache()


def cached_logits(model, ids):
    """Full forward with a fresh cache object present (see the module docstring)."""
    return model(ids, use_cache=True, past_key_values=new_cache(model.config)).logits[0].float()


def greedy_cached(model, prompt, vp, log):
    seq, out, gaps = prompt.clone(), [], []
    for _ in range(GREEDY_STEPS):
        last = cached_logits(model, seq)[-1]
        top = torch.topk(last, 2)
        nxt = int(top.indices[0])
        if nxt >= vp:
            # Only by a tie with the pad row copies; HF's text-only path would index past the
            # per-layer table. Never seen; logged if it happens.
            log(f"  greedy picked {nxt} >= vocab_size_per_layer_input {vp}; using best < {vp}")
            nxt = int(last[:vp].argmax())
        out.append(nxt)
        gaps.append(float(top.values[0] - top.values[1]))
        seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
    return out, gaps


def make_gemma3n(name, out_root, seed):
    make_cfg, cls, shard = FIXTURES[name]
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    cfg = make_cfg()
    torch.manual_seed(seed)
    model = cls(cfg).to(torch.float32)
    try:
        model.set_attn_implementation("eager")
    except Exception:
        model.config._attn_implementation = "eager"
    gen = torch.Generator().manual_seed(seed)
    randomize_gemma3n(model, gen, cfg, GEMMA3N_COEF_STD[name])
    if cfg.tie_word_embeddings:
        model.tie_weights()
    model.eval()
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    log(f"{name}: lm_head tied to embed_tokens: {tied}")
    extra = unused_kv_tensors(model, cfg, gen) if name in GEMMA3N_UNUSED_KV else {}

    # Save before any forward (see the module docstring).
    model.save_pretrained(out, safe_serialization=True)
    if extra or shard:
        from safetensors.torch import load_file
        files = [f for f in os.listdir(out) if f.startswith("model") and f.endswith(".safetensors")]
        tensors = {}
        for f in files:
            tensors.update(load_file(os.path.join(out, f)))
        tensors.update(extra)
        sizes = write_shards(out, tensors, shard or 1 << 40)
        log(f"  wrote {len(tensors)} tensors ({len(extra)} unused K/V extras) in shards of {sizes}")
    coefs_before = {k: v.detach().clone() for k, v in model.named_parameters() if "coefs" in k}

    ids_gen = torch.Generator().manual_seed(seed + 1)
    vp = cfg.vocab_size_per_layer_input
    body = torch.randint(3, vp, (PROMPT_LEN - 1,), generator=ids_gen)
    prompt = torch.cat([torch.tensor([cfg.bos_token_id]), body]).unsqueeze(0)
    golden = {"prompt": prompt[0].tolist()}
    cap = cfg.final_logit_softcapping

    def attempt(key, fn):
        try:
            golden[key] = fn()
        except Exception as e:
            golden[key] = f"failed: {type(e).__name__}: {e}"
            log(f"  {key} failed:\n{traceback.format_exc()}")

    with torch.no_grad():
        ref = cached_logits(model, prompt)
        logits = ref.numpy()
        golden["greedy"], golden["greedy_gaps"] = greedy_cached(model, prompt, vp, log)

        def hf_generate():
            c = model.generate(prompt, max_new_tokens=GREEDY_STEPS, min_new_tokens=GREEDY_STEPS,
                               do_sample=False, pad_token_id=0)
            return c[0, PROMPT_LEN:].tolist()
        attempt("greedy_hf_cache", hf_generate)
        sorted_top = np.sort(logits, axis=-1)
        golden["min_top2_gap"] = float((sorted_top[:, -1] - sorted_top[:, -2]).min())
        golden["max_abs_logit"] = float(np.abs(logits).max())
        attempt("softcap_max_effect", lambda: float(
            (cap * torch.atanh(ref / cap) - ref).abs().max()))

        attempt("use_cache_false_max_abs_diff", lambda: float(
            (model(prompt, use_cache=False).logits[0].float() - ref).abs().max()))

        def stepwise():
            cache, rows = new_cache(model.config), []
            for t in range(PROMPT_LEN):
                o = model(prompt[:, t:t + 1], past_key_values=cache, use_cache=True,
                          position_ids=torch.tensor([[t]]))
                rows.append(o.logits[0, -1].float())
            return float((torch.stack(rows) - ref).abs().max())
        attempt("stepwise_decode_max_abs_diff", stepwise)

        # AltUp coefficient clipping. Whether this transformers version clamps in eval: compare
        # the coefficients after all the forwards above with the saved ones.
        clip = cfg.altup_coef_clip
        after = dict(model.named_parameters())
        golden["altup_coef_clip"] = {
            "clip": clip,
            "max_abs_prediction_coef": max(float(v.abs().max()) for k, v in coefs_before.items()
                                           if "prediction" in k),
            "max_abs_correction_coef": max(float(v.abs().max()) for k, v in coefs_before.items()
                                           if "correction" in k),
            "n_prediction_coefs_over_clip": sum(int((v.abs() > clip).sum()) for k, v in
                                                coefs_before.items() if "prediction" in k),
            "n_correction_coefs_over_clip": sum(int((v.abs() > clip).sum()) for k, v in
                                                coefs_before.items() if "correction" in k),
            "hf_forward_modified_coefs": any(not torch.equal(v, after[k])
                                             for k, v in coefs_before.items()),
        }

        def clipped(which):
            m = copy.deepcopy(model)
            for k, p in m.named_parameters():
                if any(w in k for w in which):
                    p.clamp_(-clip, clip)
            return m
        for tag, which in (("both", ("prediction_coefs", "correction_coefs")),
                           ("correction_only", ("correction_coefs",))):
            def variant():
                m = clipped(which)
                lg = cached_logits(m, prompt)
                res = {"max_abs_diff_vs_logits": float((lg - ref).abs().max())}
                if tag == "both":
                    res["greedy"] = greedy_cached(m, prompt, vp, log)[0]
                return res
            attempt(f"if_clamped_{tag}", variant)
        golden["altup_coef_clip"].update(
            {k: golden.pop(k) for k in ("if_clamped_both", "if_clamped_correction_only")})

        def reload():
            m = cls.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
            return float((cached_logits(m, prompt) - ref).abs().max())
        attempt("reload_max_abs_diff", reload)

    first = cfg.num_hidden_layers - cfg.num_kv_shared_layers
    types = cfg.layer_types
    golden["kv_sharing"] = {
        str(i): max(j for j in range(first) if types[j] == types[i])
        for i in range(first, cfg.num_hidden_layers)}
    golden["unused_kv_tensors"] = sorted(extra)
    golden["notes"] = (
        "logits/greedy: fp32 eager, use_cache=True with a fresh DynamicCache on every full "
        "forward. embed_tokens rows >= vocab_size_per_layer_input are copies of row 0. "
        "kv_sharing maps consumer layer -> producer layer.")
    golden.update({
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "seed": seed,
        "attn_implementation": "eager",
        "dtype": "float32",
        "reference": "use_cache=True (fresh DynamicCache per forward)",
    })
    np.save(os.path.join(out, "logits.npy"), logits.astype(np.float32))
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    log(f"{name}: T={PROMPT_LEN} V={logits.shape[1]} greedy={golden['greedy']} "
        f"cache_greedy={golden['greedy_hf_cache']} gap={golden['min_top2_gap']:.4f} "
        f"greedy_gaps={[round(g, 4) for g in golden['greedy_gaps']]} "
        f"max|logit|={golden['max_abs_logit']:.3f} use_cache_false_diff="
        f"{golden['use_cache_false_max_abs_diff']} stepwise={golden['stepwise_decode_max_abs_diff']} "
        f"reload={golden['reload_max_abs_diff']} softcap_effect={golden['softcap_max_effect']}")
    log(f"  altup_coef_clip: {json.dumps(golden['altup_coef_clip'])}")
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    log(f"  files: {sizes} total={sum(sizes.values())}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "models"))
    ap.add_argument("--only", nargs="*", default=sorted(FIXTURES))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    failed = []
    for name in args.only:
        try:
            make(name, args.out, seed=SEEDS[name])
        except Exception:  # keep going: one broken fixture must not lose the others
            traceback.print_exc()
            failed.append(name)
    if failed:
        print("FAILED:", failed)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
