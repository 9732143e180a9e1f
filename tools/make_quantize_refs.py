#!/usr/bin/env python3
"""References for `unicorn quantize` against llama.cpp's llama-quantize.

Writes tests/data/quantize/:
    tiny_llama.hdr.gguf, tiny_gemma3.hdr.gguf
        Header-only GGUFs (metadata + tensor table, no weights) of two tiny models with
        llama.cpp's tensor names. `make_random_like --seed 1` turns each into the F32 fixture
        (the test does the same, in-process), so only a few KB are committed.
    <fixture>.refs.json
        For every quantization type `unicorn quantize` accepts: what llama-quantize wrote from
        the fixture — the file's size and sha256, how many tensors needed a fallback type, the
        type of every tensor, and for Q4_0, Q8_0 and Q4_K_M the sha256 of every tensor's bytes
        (the tensor table — names in llama.cpp's order and shapes — is listed once). Also
        "Q4_K_M>F16" and "Q4_K_M>Q4_0": llama-quantize --allow-requantize of the Q4_K_M file.

    <fixture>.imatrix.gguf, <fixture>.imatrix.refs.json  (tiny_llama and tiny_gemma3)
        A synthetic importance matrix in llama.cpp's GGUF imatrix format (heavy-tailed column
        importances from a seeded generator; one weight with count 0, which llama.cpp reads as
        importance 1), and what `llama-quantize --imatrix` wrote with it for IMATRIX_TYPES: the
        type and sha256 of every tensor, and the quantize.imatrix.* keys it added (the file's own
        sha256 is left out: quantize.imatrix.file holds the path as typed).

Fixtures:
    tiny_llama   8 layers, d_model 256, untied output, GQA 4:1 (Q2_K's attn_v rule), an FFN
                 width of 288 so every ffn_down row (288) is not a whole number of 256-blocks
                 (the K-quant fallback), general.file_type present in the input.
    tiny_gemma3  12 layers (llama.cpp writes blk.10 after blk.9, not after blk.1), d_model 256,
                 tied embeddings, 5:1 sliding pattern, every row a multiple of 256.
    gemma3n_tiny the committed tests/data/models/gemma3n_tiny.llamacpp.gguf (llama.cpp's own
                 converter): per-layer embeddings, AltUp and LAuReL tensors; d_model 64, so every
                 K-quant tensor falls back, and the per-layer projection's rows of 16 fit no
                 32-block type (the F16 fallback).

Usage (from the repository root; needs a build with bench/ for make_random_like):
    python3 tools/make_quantize_refs.py [--make-random-like build/bench/make_random_like]
        [--llama-quantize ~/.cache/unicorn/peer/bin/llama-quantize] [--imatrix-only]

The references were made with llama.cpp commit 0c1e57098bba43ac29e6e3b677cdceebdd22334f (as
vendored in llama-cpp-python 0.3.36), built as described in ~/.cache/unicorn/peer/bin/BUILD_INFO.
"""

import argparse
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

LLAMA_CPP_COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"
SEED = 1
ALIGN = 32

# Every type `unicorn quantize` accepts, as llama-quantize names it.
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q5_0",
         "Q5_1", "Q4_0", "Q4_1", "Q3_K_M", "Q3_K_S", "Q3_K_L", "Q2_K"]

GGML_TYPE_NAMES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
                   9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K",
                   15: "Q8_K", 30: "BF16"}
# (block size, bytes per block)
GGML_TYPE_SIZE = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
                  8: (32, 34), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
                  14: (256, 210), 30: (1, 2)}

# ---------------------------------------------------------------------------------------------
# GGUF encoding (header only) and decoding


def enc_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


# Metadata values as (gguf type id, value); arrays as (9, (elem type id, [values])).
SCALAR_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
              12: "d"}


def enc_value(t, v):
    if t == 8:
        return enc_str(v)
    if t == 9:
        et, vals = v
        return struct.pack("<IQ", et, len(vals)) + b"".join(enc_value(et, x) for x in vals)
    return struct.pack("<" + SCALAR_FMT[t], v)


def header_bytes(kv, tensors):
    """kv: [(key, type, value)]; tensors: [(name, shape in PyTorch order)], all F32."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, t, v in kv:
        out += enc_str(key) + struct.pack("<I", t) + enc_value(t, v)
    offset = 0
    for name, shape in tensors:
        ne = list(reversed(shape))
        out += enc_str(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        out += struct.pack("<IQ", 0, offset)
        n = 1
        for d in shape:
            n *= d
        offset = (offset + 4 * n + ALIGN - 1) // ALIGN * ALIGN
    out += b"\0" * ((-len(out)) % ALIGN)
    return out


def read_gguf(path):
    """Tensor table of a GGUF file: [(name, ggml type, shape in PyTorch order, bytes)]."""
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def skip_str():
        nonlocal pos
        (n,) = take("Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    def skip_value(t):
        if t == 8:
            return skip_str()
        if t == 9:
            et, n = take("IQ")
            return [skip_value(et) for _ in range(n)]
        return take(SCALAR_FMT[t])[0]

    assert data[:4] == b"GGUF", path
    pos = 4
    _, n_tensors, n_kv = take("IQQ")
    align = ALIGN
    for _ in range(n_kv):
        key = skip_str()
        (t,) = take("I")
        v = skip_value(t)
        if key == "general.alignment":
            align = v
    infos = []
    for _ in range(n_tensors):
        name = skip_str()
        (nd,) = take("I")
        ne = take(f"{nd}Q")
        ty, off = take("IQ")
        infos.append((name, ty, list(reversed(ne)), off))
    data_start = (pos + align - 1) // align * align
    out = []
    for name, ty, shape, off in infos:
        block, size = GGML_TYPE_SIZE[ty]
        n = 1
        for d in shape:
            n *= d
        nbytes = n // block * size
        start = data_start + off
        out.append((name, ty, shape, data[start:start + nbytes]))
    return out, data


# ---------------------------------------------------------------------------------------------
# The tiny models


def u32(k, v):
    return (k, 4, v)


def f32(k, v):
    return (k, 6, v)


def tiny_llama():
    d, layers, heads, kv_heads, head_dim, ffn, vocab = 256, 8, 4, 1, 64, 288, 320
    kv = [("general.architecture", 8, "llama"), ("general.name", 8, "tiny llama"),
          u32("general.file_type", 0),
          u32("llama.context_length", 512), u32("llama.embedding_length", d),
          u32("llama.block_count", layers), u32("llama.feed_forward_length", ffn),
          u32("llama.attention.head_count", heads), u32("llama.attention.head_count_kv", kv_heads),
          u32("llama.attention.key_length", head_dim), u32("llama.attention.value_length", head_dim),
          u32("llama.rope.dimension_count", head_dim), f32("llama.rope.freq_base", 10000.0),
          f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
          u32("tokenizer.ggml.bos_token_id", 1)]
    t = [("token_embd.weight", [vocab, d]), ("output_norm.weight", [d]),
         ("output.weight", [vocab, d])]
    for l in range(layers):
        p = f"blk.{l}."
        t += [(p + "attn_norm.weight", [d]), (p + "attn_q.weight", [heads * head_dim, d]),
              (p + "attn_k.weight", [kv_heads * head_dim, d]),
              (p + "attn_v.weight", [kv_heads * head_dim, d]),
              (p + "attn_output.weight", [d, heads * head_dim]), (p + "ffn_norm.weight", [d]),
              (p + "ffn_gate.weight", [ffn, d]), (p + "ffn_up.weight", [ffn, d]),
              (p + "ffn_down.weight", [d, ffn])]
    return kv, t


def tiny_gemma3():
    d, layers, heads, kv_heads, head_dim, ffn, vocab = 256, 12, 2, 1, 128, 256, 384
    sliding = [(l + 1) % 6 != 0 for l in range(layers)]
    kv = [("general.architecture", 8, "gemma3"), ("general.name", 8, "tiny gemma3"),
          u32("gemma3.context_length", 512), u32("gemma3.embedding_length", d),
          u32("gemma3.block_count", layers), u32("gemma3.feed_forward_length", ffn),
          u32("gemma3.attention.head_count", heads),
          u32("gemma3.attention.head_count_kv", kv_heads),
          u32("gemma3.attention.key_length", head_dim),
          u32("gemma3.attention.value_length", head_dim),
          f32("gemma3.rope.freq_base", 1000000.0), f32("gemma3.rope.freq_base_swa", 10000.0),
          f32("gemma3.attention.layer_norm_rms_epsilon", 1e-6),
          u32("gemma3.attention.sliding_window", 64),
          ("gemma3.attention.sliding_window_pattern", 9, (7, sliding)),
          u32("tokenizer.ggml.bos_token_id", 2)]
    t = [("token_embd.weight", [vocab, d]), ("output_norm.weight", [d])]
    for l in range(layers):
        p = f"blk.{l}."
        t += [(p + "attn_norm.weight", [d]), (p + "attn_q.weight", [heads * head_dim, d]),
              (p + "attn_k.weight", [kv_heads * head_dim, d]),
              (p + "attn_v.weight", [kv_heads * head_dim, d]),
              (p + "attn_output.weight", [d, heads * head_dim]),
              (p + "attn_q_norm.weight", [head_dim]), (p + "attn_k_norm.weight", [head_dim]),
              (p + "post_attention_norm.weight", [d]), (p + "ffn_norm.weight", [d]),
              (p + "ffn_gate.weight", [ffn, d]), (p + "ffn_up.weight", [ffn, d]),
              (p + "ffn_down.weight", [d, ffn]), (p + "post_ffw_norm.weight", [d])]
    return kv, t


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# Per-tensor sha256 for these; every other type is checked through the whole file's sha256
# (and per-tensor types), which keeps the references small.
HASHED_TYPES = ("Q4_0", "Q8_0", "Q4_K_M")
REQUANT_FROM, REQUANT_TO = "Q4_K_M", ("F16", "Q4_0")


def reference(llama_quantize, fixture, qtype, tmp, extra=(), keep=None):
    """What llama-quantize writes for `qtype`: tensor table, per-tensor types and hashes."""
    out = keep or os.path.join(tmp, f"out-{qtype}.gguf")
    r = subprocess.run([llama_quantize, *extra, fixture, out, qtype, "2"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"llama-quantize {qtype} failed:\n{r.stdout}\n{r.stderr}")
    m = re.search(r"(\d+) of (\d+) tensor\(s\) required fallback", r.stdout + r.stderr)
    tensors, data = read_gguf(out)
    if not keep:
        os.remove(out)
    ref = {"file_bytes": len(data), "file_sha256": sha256(data),
           "n_fallback": int(m.group(1)) if m else 0,
           "types": " ".join(GGML_TYPE_NAMES[ty] for _, ty, _, _ in tensors)}
    if qtype in HASHED_TYPES:
        ref["sha256"] = [sha256(b) for _, _, _, b in tensors]
    return [(n, shape) for n, _, shape, _ in tensors], ref


# ---------------------------------------------------------------------------------------------
# Importance-weighted quantization

IMATRIX_TYPES = ["Q4_0", "Q5_0", "Q4_K_M", "Q5_K_M", "Q3_K_M", "Q2_K"]
IMATRIX_SEED = 7
IMATRIX_DATASET = "synthetic (tools/make_quantize_refs.py)"
LINEAR = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def imatrix_bytes(tensors):
    """A GGUF imatrix for the blk.* linear weights of `tensors` ([(name, shape)])."""
    import random
    rng = random.Random(IMATRIX_SEED)
    weights = sorted((n, shape) for n, shape in tensors
                     if n.startswith("blk.") and n.split(".")[2] in LINEAR)
    kv = [("general.type", 8, "imatrix"), ("imatrix.datasets", 9, (8, [IMATRIX_DATASET])),
          u32("imatrix.chunk_count", 4), u32("imatrix.chunk_size", 512)]
    entries = []
    for i, (name, shape) in enumerate(weights):
        count = 0.0 if i == 1 else 2048.0  # the second weight was never seen
        # Mean squares spanning ~4 decades with a few large columns, as real activations have.
        sums = [count * math.exp(rng.gauss(0.0, 1.5)) for _ in range(shape[-1])]
        entries.append((name + ".in_sum2", [shape[-1]], sums))
        entries.append((name + ".counts", [1], [count]))
    out = b"GGUF" + struct.pack("<IQQ", 3, len(entries), len(kv))
    for key, t, v in kv:
        out += enc_str(key) + struct.pack("<I", t) + enc_value(t, v)
    offset = 0
    for name, shape, _ in entries:
        out += enc_str(name) + struct.pack("<I", 1) + struct.pack("<Q", shape[0])
        out += struct.pack("<IQ", 0, offset)
        offset = (offset + 4 * shape[0] + ALIGN - 1) // ALIGN * ALIGN
    out += b"\0" * ((-len(out)) % ALIGN)
    for _, shape, vals in entries:
        blob = struct.pack(f"<{len(vals)}f", *vals)
        out += blob + b"\0" * ((-len(blob)) % ALIGN)
    return out


def gguf_metadata(path):
    """The metadata of a GGUF file as {key: value} (arrays as lists)."""
    data = open(path, "rb").read()
    pos = 24
    n_kv = struct.unpack_from("<Q", data, 16)[0]

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def value(t):
        nonlocal pos
        if t == 8:
            (n,) = take("Q")
            v = data[pos:pos + n].decode()
            pos += n
            return v
        if t == 9:
            et, n = take("IQ")
            return [value(et) for _ in range(n)]
        return take(SCALAR_FMT[t])[0]

    kv = {}
    for _ in range(n_kv):
        key = value(8)
        (t,) = take("I")
        kv[key] = value(t)
    return kv


def imatrix_references(llama_quantize, name, gguf, out_dir, tmp):
    imatrix = os.path.join(out_dir, f"{name}.imatrix.gguf")
    tensors, _ = read_gguf(gguf)
    with open(imatrix, "wb") as f:
        f.write(imatrix_bytes([(n, shape) for n, _, shape, _ in tensors]))
    refs = {"llama_cpp_commit": LLAMA_CPP_COMMIT, "imatrix": f"{name}.imatrix.gguf",
            "imatrix_sha256": sha256(open(imatrix, "rb").read()), "outputs": {}}
    for qtype in IMATRIX_TYPES:
        out = os.path.join(tmp, f"imatrix-{qtype}.gguf")
        _, ref = reference(llama_quantize, gguf, qtype, tmp, extra=["--imatrix", imatrix],
                           keep=out)
        ref["sha256"] = [sha256(b) for _, _, _, b in read_gguf(out)[0]]
        meta = gguf_metadata(out)
        ref["imatrix_keys"] = {k: v for k, v in meta.items()
                               if k.startswith("quantize.imatrix.") and k != "quantize.imatrix.file"}
        del ref["file_sha256"]
        os.remove(out)
        refs["outputs"][qtype] = ref
    path = os.path.join(out_dir, f"{name}.imatrix.refs.json")
    with open(path, "w") as f:
        f.write(json.dumps(refs, indent=1) + "\n")
    print(f"wrote {path}: {len(IMATRIX_TYPES)} types with an importance matrix")


def dump(refs):
    """JSON with one tensor or hash per line (readable diffs, no deep indentation)."""
    lines = ["{"]
    lines.append(f' "llama_cpp_commit": {json.dumps(refs["llama_cpp_commit"])},')
    lines.append(f' "fixture": {json.dumps(refs["fixture"])},')
    lines.append(' "tensors": [')
    lines.append(",\n".join(f"  {json.dumps(t)}" for t in refs["tensors"]))
    lines.append(" ],")
    lines.append(' "outputs": {')
    outs = []
    for qtype, ref in refs["outputs"].items():
        body = [f'   {json.dumps(k)}: {json.dumps(v)}' for k, v in ref.items() if k != "sha256"]
        if "sha256" in ref:
            body.append('   "sha256": [\n' +
                        ",\n".join(f"    {json.dumps(h)}" for h in ref["sha256"]) + "\n   ]")
        outs.append(f"  {json.dumps(qtype)}: {{\n" + ",\n".join(body) + "\n  }")
    lines.append(",\n".join(outs))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--make-random-like", default=os.path.join(root, "build/bench/make_random_like"))
    ap.add_argument("--llama-quantize",
                    default=os.path.expanduser("~/.cache/unicorn/peer/bin/llama-quantize"))
    ap.add_argument("--out", default=os.path.join(root, "tests/data/quantize"))
    ap.add_argument("--imatrix-only", action="store_true",
                    help="only the importance-matrix references (*.imatrix.*)")
    args = ap.parse_args()
    info = os.path.join(os.path.dirname(args.llama_quantize), "BUILD_INFO")
    if not os.path.exists(info) or LLAMA_CPP_COMMIT not in open(info).read():
        sys.exit(f"{args.llama_quantize} is not llama.cpp {LLAMA_CPP_COMMIT[:9]} (see {info}); "
                 "the references name that commit")
    os.makedirs(args.out, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        fixtures = []
        for name, make in (("tiny_llama", tiny_llama), ("tiny_gemma3", tiny_gemma3)):
            hdr = os.path.join(args.out, f"{name}.hdr.gguf")
            with open(hdr, "wb") as f:
                f.write(header_bytes(*make()))
            gguf = os.path.join(tmp, f"{name}.gguf")
            subprocess.run([args.make_random_like, "--seed", str(SEED), "-o", gguf, hdr],
                           check=True, capture_output=True)
            fixtures.append((name, gguf, {"header": f"{name}.hdr.gguf", "seed": SEED}))
        if args.imatrix_only:
            for name, gguf, _ in fixtures:
                imatrix_references(args.llama_quantize, name, gguf, args.out, tmp)
            return
        fixtures.append(("gemma3n_tiny", os.path.join(root, "tests/data/models/gemma3n_tiny.llamacpp.gguf"),
                         {"file": "../models/gemma3n_tiny.llamacpp.gguf"}))

        for name, gguf, source in fixtures:
            data = open(gguf, "rb").read()
            refs = {"llama_cpp_commit": LLAMA_CPP_COMMIT,
                    "fixture": dict(source, bytes=len(data), sha256=sha256(data)),
                    "tensors": None, "outputs": {}}
            for qtype in TYPES:
                keep = os.path.join(tmp, "base.gguf") if qtype == REQUANT_FROM else None
                tensors, refs["outputs"][qtype] = reference(args.llama_quantize, gguf, qtype, tmp,
                                                            keep=keep)
                # Names, order and shapes do not depend on the type.
                assert refs["tensors"] in (None, tensors), qtype
                refs["tensors"] = tensors
            # --allow-requantize: dequantize the Q4_K_M file and quantize it again (how the
            # F16 base of the Gemma 3 270M release is made).
            for qtype in REQUANT_TO:
                _, ref = reference(args.llama_quantize, os.path.join(tmp, "base.gguf"), qtype,
                                   tmp, extra=["--allow-requantize"])
                refs["outputs"][f"{REQUANT_FROM}>{qtype}"] = ref
            path = os.path.join(args.out, f"{name}.refs.json")
            with open(path, "w") as f:
                f.write(dump(refs))
            json.load(open(path))  # well-formed
            print(f"wrote {path}: {len(TYPES)} types")
            if name != "gemma3n_tiny":
                imatrix_references(args.llama_quantize, name, gguf, args.out, tmp)


if __name__ == "__main__":
    main()
