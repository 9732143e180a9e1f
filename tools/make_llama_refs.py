#!/usr/bin/env python3
"""Regenerates the llama.cpp reference data in tests/data/real/ by RUNNING llama.cpp.

It does not build llama.cpp: run bench/peer/build-llama-cpp first (it builds the pinned llama.cpp
from the llama-cpp-python sdist, plus the small bench/peer/llama-refs helper), and
scripts/fetch-models for the GGUF files. Python 3 standard library only.

Usage: tools/make_llama_refs.py [--only tokens,greedy,top1] [--model NAME ...] [--threads N]
                                [--bin DIR] [--out DIR]

Outputs, for each model NAME in {gemma3-270m, smollm2-135m}:
  tokens_NAME.json  every string of tokenizer_strings.json tokenized by
                    `llama-tokenize -m MODEL --stdin --ids --no-escape` (string bytes on stdin,
                    so newlines / trailing spaces reach it exactly). BOS is added when the GGUF
                    says so (tokenizer.ggml.add_bos_token); special-token text is parsed as special
                    tokens (llama-tokenize's default, parse_special = true).
  greedy_NAME.json  three raw-text prompts (tokenized like above: BOS per GGUF, specials parsed),
                    64 greedy tokens each (argmax, no penalties, n_ctx 512), prompt decoded in one
                    batch: ids and per-step top1-top2 logit margins from `llama-refs greedy`, checked
                    against the text printed by llama.cpp's `llama-completion` (temp 0, top-k 1,
                    repeat penalty 1, seed 42, -no-cnv) and `llama-simple`. Also the ids
                    `llama-completion --prompt-cache F --prompt-cache-all` writes, where they differ
                    (it decodes the prompt as n-1 + 1 tokens, which moves logits by ~0.1).
  top1_NAME.json    text_512.txt tokenized like above, cut to its first 512 tokens (BOS included),
                    decoded in ONE batch with logits at every position by `llama-refs top1`; per
                    position the argmax id and its logit, and the runner-up id and logit (so a test
                    can tell a genuine miss from a near-tie). Also the argmax ids of the same
                    decode run one token at a time (--ubatch 1) and their agreement with the batch:
                    how far llama.cpp agrees with itself.
"""

import argparse
import datetime
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["gemma3-270m", "smollm2-135m"]
N_PREDICT = 64
N_TOP1 = 512
SEED = 42
PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village at the edge of a great forest, there lived",
    'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n',
]


class RefError(Exception):
    pass


def log(msg):
    print(f"make_llama_refs: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- GGUF metadata (KV section only)

_GGUF_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                10: "<Q", 11: "<q", 12: "<d"}


def gguf_metadata(path):
    """Returns the scalar/string key-values of a GGUF file (arrays are skipped)."""
    with open(path, "rb") as f:
        def rd(fmt):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def rstr():
            return f.read(rd("<Q")).decode("utf-8", "replace")

        def rval(t):
            if t in _GGUF_SCALAR:
                return rd(_GGUF_SCALAR[t])
            if t == 8:
                return rstr()
            if t == 9:
                et, n = rd("<I"), rd("<Q")
                if et == 8:
                    for _ in range(n):
                        f.seek(rd("<Q"), 1)
                elif et in _GGUF_SCALAR:
                    f.seek(n * struct.calcsize(_GGUF_SCALAR[et]), 1)
                else:
                    for _ in range(n):
                        rval(et)
                return None
            raise RefError(f"{path}: unknown GGUF type {t}")

        if f.read(4) != b"GGUF":
            raise RefError(f"{path} is not a GGUF file")
        rd("<I")
        rd("<Q")
        n_kv = rd("<Q")
        kv = {}
        for _ in range(n_kv):
            key = rstr()
            val = rval(rd("<I"))
            if val is not None:
                kv[key] = val
        return kv


# ---------------------------------------------------------------- helpers

def run(cmd, stdin_bytes=None, check=True):
    p = subprocess.run(cmd, input=stdin_bytes if stdin_bytes is not None else b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise RefError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n"
                       f"{p.stderr.decode(errors='replace')[-2000:]}")
    return p


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def json_str(s):
    """JSON string that is exact and editor-safe: ASCII-printable or visible Unicode stays as is,
    control / format / separator / private-use / combining-at-start characters are \\u-escaped."""
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif cat[0] in "CZ" and ch != " " or cat in ("Mn", "Me", "Mc") and not out:
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dump_json(obj, indent=0):
    """Compact-but-readable JSON: lists of numbers on one line, one list item per line otherwise."""
    pad = " " * indent
    if isinstance(obj, str):
        return json_str(obj)
    if isinstance(obj, (bool, int, float)) or obj is None:
        return json.dumps(obj)
    if isinstance(obj, list):
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in obj):
            return "[" + ", ".join(json.dumps(x) for x in obj) + "]"
        if all(isinstance(x, str) for x in obj) and len(obj) <= 8 and sum(map(len, obj)) < 80:
            return "[" + ", ".join(json_str(x) for x in obj) + "]"
        inner = ",\n".join(pad + "  " + dump_json(x, indent + 2) for x in obj)
        return "[\n" + inner + "\n" + pad + "]"
    if isinstance(obj, dict):
        if all(not isinstance(v, (dict, list)) or (isinstance(v, list) and
               all(isinstance(x, (int, float)) for x in v)) for v in obj.values()) and \
                sum(len(dump_json(v)) + len(k) for k, v in obj.items()) < 400:
            return "{" + ", ".join(json_str(k) + ": " + dump_json(v) for k, v in obj.items()) + "}"
        inner = ",\n".join(pad + "  " + json_str(k) + ": " + dump_json(v, indent + 2)
                           for k, v in obj.items())
        return "{\n" + inner + "\n" + pad + "}"
    raise TypeError(type(obj))


def write_json(path, obj):
    text = dump_json(obj) + "\n"
    assert json.loads(text) == obj, f"JSON round trip failed for {path}"
    path.write_text(text, encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(text.encode())} bytes)")


# ---------------------------------------------------------------- environment

class Peer:
    def __init__(self, bin_dir, threads):
        self.bin = Path(bin_dir)
        self.threads = threads
        info = self.bin / "BUILD_INFO"
        if not info.exists():
            raise RefError(f"{info} missing: run bench/peer/build-llama-cpp first")
        self.info = info.read_text().splitlines()
        fields = dict(line.split(" ", 1) for line in self.info if " " in line)
        self.pkg_version = fields.get("llama-cpp-python", "?")
        # "llama.cpp commit <40-hex> b<build>"
        parts = fields.get("llama.cpp", "commit ? ?").split()
        self.commit = parts[1] if len(parts) > 1 else "?"
        self.build = parts[2] if len(parts) > 2 else "?"
        for tool in ("llama-tokenize", "llama-completion", "llama-refs"):
            if not os.access(self.bin / tool, os.X_OK):
                raise RefError(f"{self.bin / tool} missing: run bench/peer/build-llama-cpp")

    def describe(self):
        return {"llama.cpp commit": self.commit, "llama.cpp build": self.build, "source": f"llama-cpp-python {self.pkg_version} sdist "
                "(vendor/llama.cpp), built by bench/peer/build-llama-cpp",
                "threads": self.threads}

    def tokenize(self, model, text):
        cmd = [self.bin / "llama-tokenize", "-m", model, "--stdin", "--ids", "--no-escape", "--log-disable"]
        p = run(cmd, text.encode("utf-8"))
        lines = [ln for ln in p.stdout.decode().splitlines() if ln.startswith("[")]
        if len(lines) != 1:
            raise RefError(f"unexpected llama-tokenize output for {text!r}: {p.stdout!r}")
        return json.loads(lines[0])


def model_path(name):
    p = run([ROOT / "scripts" / "fetch-models", "--path", name]).stdout.decode().strip()
    if not Path(p).exists():
        raise RefError(f"{p} missing: run scripts/fetch-models")
    return p


def model_block(name, path):
    kv = gguf_metadata(path)
    keys = ["general.architecture", "general.name", "tokenizer.ggml.model", "tokenizer.ggml.pre",
            "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
            "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"]
    return {"name": name, "file": Path(path).name, "sha256": sha256_file(path),
            "gguf": {k: kv[k] for k in keys if k in kv}}, kv


# ---------------------------------------------------------------- the three references

def make_tokens(peer, name, path, out_dir):
    strings = json.loads((out_dir / "tokenizer_strings.json").read_text(encoding="utf-8"))
    block, kv = model_block(name, path)
    log(f"{name}: tokenizing {len(strings)} strings with llama-tokenize")
    cases = [{"string": s, "ids": peer.tokenize(path, s)} for s in strings]
    write_json(out_dir / f"tokens_{name}.json", {
        "model": block,
        "llama_cpp": peer.describe(),
        "flags": {"add_bos": bool(kv.get("tokenizer.ggml.add_bos_token", False)),
                  "add_bos_rule": "as the GGUF says (tokenizer.ggml.add_bos_token)",
                  "parse_special": True},
        "command": "printf '%s' STRING | llama-tokenize -m MODEL --stdin --ids --no-escape --log-disable",
        "count": len(cases),
        "cases": cases,
    })


def read_session_tokens(path):
    with open(path, "rb") as f:
        magic, version, n = struct.unpack("<III", f.read(12))
        if magic != 0x6767736E:  # 'ggsn'
            raise RefError(f"{path}: not a llama.cpp session file (magic {magic:#x})")
        return list(struct.unpack(f"<{n}i", f.read(4 * n)))


def make_greedy(peer, name, path, out_dir):
    """Greedy ids come from llama-refs (one-batch prompt, argmax loop, per-step runner-up too) and
    are confirmed by llama.cpp's own tools: llama-completion's and llama-simple's printed text must
    equal the ids' text. llama-completion with a session file (which also yields ids) decodes the
    prompt as n-1 tokens + 1, which changes the numerics; its ids are recorded for comparison."""
    block, _ = model_block(name, path)
    t = str(peer.threads)
    refs_cmd = ["greedy", "-m", "MODEL", "-t", t, "-c", "512", "-n", str(N_PREDICT)]
    comp_args = ["-m", "MODEL", "-p", "PROMPT", "--no-escape", "-no-cnv", "-n", str(N_PREDICT),
                 "-c", "512", "-t", t, "--temp", "0", "--top-k", "1", "--repeat-penalty", "1.0",
                 "--seed", str(SEED), "--no-display-prompt", "--simple-io"]
    simple_args = ["-m", "MODEL", "-n", str(N_PREDICT), "PROMPT"]

    def subst(args, **kw):
        return [kw.get(a, a) for a in args]

    def detok(ids, special=False):
        return run([peer.bin / "llama-refs", "detok", "-m", path] + (["--special"] if special else []),
                   " ".join(map(str, ids)).encode()).stdout.decode("utf-8", "replace")

    runs = []
    for prompt in PROMPTS:
        log(f"{name}: greedy {N_PREDICT} tokens for {prompt[:40]!r}")
        prompt_ids = peer.tokenize(path, prompt)
        ids_in = " ".join(map(str, prompt_ids)).encode()
        rows = [ln.split() for ln in run([peer.bin / "llama-refs"] + subst(refs_cmd, MODEL=path),
                                         ids_in).stdout.decode().splitlines() if ln.strip()]
        gen = [int(r[0]) for r in rows]
        margin = [round(float(r[1]) - float(r[3]), 6) for r in rows]
        text = detok(gen)
        checks = {}
        # llama-completion, no session file: prompt in one batch
        out = run([peer.bin / "llama-completion"] + subst(comp_args, MODEL=path, PROMPT=prompt)).stdout
        comp_text = out.decode("utf-8", "replace")
        checks["llama-completion text equals"] = comp_text.startswith(text) and \
            comp_text[len(text):].strip() in ("", "[end of text]")
        # llama-simple: prints the prompt's pieces (specials rendered), the generation, a newline
        out = run([peer.bin / "llama-simple"] + subst(simple_args, MODEL=path, PROMPT=prompt)).stdout
        simple_text = out.decode("utf-8", "replace")
        gen_no_eog = gen[:-1] if len(gen) < N_PREDICT else gen
        checks["llama-simple text equals"] = simple_text == detok(prompt_ids + gen_no_eog, True) + "\n"
        # llama-completion with a session file: ids, but the prompt is decoded as n-1 + 1 tokens
        with tempfile.TemporaryDirectory(prefix="llama-refs-") as tmp:
            session = Path(tmp) / "session.bin"
            run([peer.bin / "llama-completion"] + subst(comp_args, MODEL=path, PROMPT=prompt) +
                ["--prompt-cache", str(session), "--prompt-cache-all"])
            session_ids = read_session_tokens(session)
        if session_ids[:len(prompt_ids)] != prompt_ids:
            raise RefError(f"{name}: llama-completion tokenized {prompt!r} as "
                           f"{session_ids[:len(prompt_ids)]}, llama-tokenize as {prompt_ids}")
        sess_gen = session_ids[len(prompt_ids):]
        split_rows = [ln.split() for ln in run(
            [peer.bin / "llama-refs"] + subst(refs_cmd, MODEL=path) + ["--split-last"],
            ids_in).stdout.decode().splitlines() if ln.strip()]
        checks["llama-completion session ids equal llama-refs --split-last"] = \
            sess_gen == [int(r[0]) for r in split_rows]
        for k, v in checks.items():
            if not v:
                log(f"{name}: WARNING check failed: {k} for {prompt[:40]!r}")
        entry = {"prompt": prompt, "prompt_ids": prompt_ids, "generated_ids": gen,
                 "n_generated": len(gen), "stopped_at_eog": len(gen) < N_PREDICT,
                 "generated_text": text, "top1_top2_margin": margin, "checks": checks}
        if sess_gen != gen:
            div = next((i for i in range(min(len(gen), len(sess_gen))) if gen[i] != sess_gen[i]),
                       min(len(gen), len(sess_gen)))
            entry["split_prompt_ids"] = sess_gen
            entry["split_prompt_diverges_at"] = div
            log(f"{name}: note: prompt decoded as n-1 + 1 diverges at step {div} "
                f"(one-batch margin there {margin[div] if div < len(margin) else None})")
        runs.append(entry)
    write_json(out_dir / f"greedy_{name}.json", {
        "model": block,
        "llama_cpp": peer.describe(),
        "sampling": {"greedy": True, "temperature": 0, "top_k": 1, "repeat_penalty": 1.0, "seed": SEED,
                     "n_predict": N_PREDICT, "n_ctx": 512,
                     "stop": "end-of-generation token (kept in generated_ids)"},
        "prompt_tokenization": "BOS as the GGUF says, special tokens parsed (same as tokens_*.json)",
        "prompt_batching": "the whole prompt in ONE batch (as llama-completion and llama-simple do), "
                           "then one token per step",
        "command": "llama-refs " + " ".join(refs_cmd) + " < prompt_ids   (bench/peer/llama-refs.cpp)",
        "checks": {"llama-completion text equals": "llama-completion " + " ".join(comp_args) +
                   "  prints the text of generated_ids",
                   "llama-simple text equals": "llama-simple " + " ".join(simple_args) +
                   "  prints the prompt and generated_ids",
                   "llama-completion session ids equal llama-refs --split-last":
                   "llama-completion ... --prompt-cache FILE --prompt-cache-all writes prompt + generated "
                   "ids, but decodes the prompt as n-1 tokens then 1; those ids (split_prompt_ids when "
                   "different) equal llama-refs --split-last"},
        "meaning": "top1_top2_margin[i] = logit(generated_ids[i]) - logit(runner-up) at step i: a "
                   "divergence right after a small margin is a numerical near-tie, not a bug",
        "runs": runs,
    })


def perplexity_check(peer, path, text_file, ids, top1, top1_logit, top2_logit):
    """Cross-checks llama-refs top1 against llama.cpp's own llama-perplexity: with -c 256 its first
    chunk is tokens[0..255] (same context as ours), and --kl-divergence-base stores, for positions
    128..254, every token's log-probability quantized to 16 bits over a 16-nat range. The argmax
    there must equal top1 wherever llama-refs' top1-top2 gap exceeds the quantization step."""
    n_ctx = 256
    with tempfile.TemporaryDirectory(prefix="llama-refs-") as tmp:
        base = Path(tmp) / "logits.bin"
        run([peer.bin / "llama-perplexity", "-m", path, "-f", str(text_file), "-c", str(n_ctx),
             "-b", str(n_ctx), "--chunks", "1", "-t", str(peer.threads), "--kl-divergence-base", str(base)])
        data = base.read_bytes()
    if data[:8] != b"_logits_":
        raise RefError("llama-perplexity wrote no _logits_ file")
    ctx, n_vocab, n_chunk = struct.unpack_from("<iii", data, 8)
    off = 20
    toks = list(struct.unpack_from(f"<{n_chunk * ctx}i", data, off))
    off += 4 * n_chunk * ctx
    if toks[:n_ctx] != ids[:n_ctx]:
        raise RefError("llama-perplexity tokenized text_512.txt differently")
    nv = 2 * ((n_vocab + 1) // 2) + 4
    first = n_ctx // 2
    agree = skipped = 0
    mismatches = []
    for j in range(n_ctx - 1 - first):
        row = struct.unpack_from(f"<{nv}H", data, off + 2 * nv * j)
        scale = struct.unpack_from("<f", data, off + 2 * nv * j)[0]
        q = row[4:4 + n_vocab]
        best = max(range(n_vocab), key=lambda i: (q[i], -i))
        pos = first + j
        if best == top1[pos]:
            agree += 1
        elif top1_logit[pos] - top2_logit[pos] <= 2 * scale:
            skipped += 1
        else:
            mismatches.append(pos)
    total = n_ctx - 1 - first
    if mismatches:
        log(f"WARNING llama-perplexity argmax differs from llama-refs at positions {mismatches}")
    return {"tool": f"llama-perplexity -m MODEL -f text_512.txt -c {n_ctx} -b {n_ctx} --chunks 1 "
                    f"-t THREADS --kl-divergence-base FILE",
            "positions": f"{first}..{n_ctx - 2}", "agree": agree, "near_ties": skipped,
            "disagree": len(mismatches), "of": total}


def make_top1(peer, name, path, out_dir):
    block, _ = model_block(name, path)
    text = (out_dir / "text_512.txt").read_text(encoding="utf-8")
    ids = peer.tokenize(path, text)
    if len(ids) < N_TOP1:
        raise RefError(f"{name}: text_512.txt has only {len(ids)} tokens, need {N_TOP1}")
    ids = ids[:N_TOP1]
    log(f"{name}: llama-refs top1 over {len(ids)} tokens")
    p = run([peer.bin / "llama-refs", "top1", "-m", path, "-t", str(peer.threads), "-c", "512", "--top", "2"],
            " ".join(map(str, ids)).encode())
    rows = [line.split() for line in p.stdout.decode().splitlines() if line.strip()]
    if len(rows) != len(ids):
        raise RefError(f"{name}: llama-refs printed {len(rows)} rows for {len(ids)} tokens")
    top1 = [int(r[1]) for r in rows]
    top1_logit = [float(r[2]) for r in rows]
    top2 = [int(r[3]) for r in rows]
    top2_logit = [float(r[4]) for r in rows]
    # llama.cpp against itself: the same ids decoded one token per llama_decode (as generation
    # does) instead of in one batch. Its agreement with top1 is the floor that any other
    # evaluation order reaches on these quantized models (int8 activation rounding turns
    # last-bit differences into ~0.2 logit differences), so tests compare Unicorn against it.
    p1 = run([peer.bin / "llama-refs", "top1", "-m", path, "-t", str(peer.threads), "-c", "512", "--top", "1",
              "--ubatch", "1"], " ".join(map(str, ids)).encode())
    rows1 = [line.split() for line in p1.stdout.decode().splitlines() if line.strip()]
    if len(rows1) != len(ids):
        raise RefError(f"{name}: llama-refs --ubatch 1 printed {len(rows1)} rows for {len(ids)} tokens")
    top1_tbt = [int(r[1]) for r in rows1]
    agree_next = sum(1 for i in range(len(ids) - 1) if top1[i] == ids[i + 1])
    ppl = perplexity_check(peer, path, out_dir / "text_512.txt", ids, top1, top1_logit, top2_logit)
    write_json(out_dir / f"top1_{name}.json", {
        "model": block,
        "llama_cpp": peer.describe(),
        "text": "text_512.txt, tokenized with BOS (per GGUF) and specials parsed, first 512 tokens",
        "command": "llama-refs top1 -m MODEL -t THREADS -c 512 --top 2 < tokens  (bench/peer/llama-refs.cpp: "
                   "one llama_decode of all 512 tokens at positions 0..511, logits for every position, "
                   "llama.cpp default context params otherwise: n_ctx 512, n_batch = n_ubatch = 512)",
        "meaning": "top1[i] = argmax of the logits after tokens[0..i] (predicts tokens[i+1]); "
                   "ties broken by lowest id",
        "check": ppl,
        "n_tokens": len(ids),
        "next_token_accuracy": round(agree_next / (len(ids) - 1), 4),
        "min_top1_top2_gap": round(min(a - b for a, b in zip(top1_logit, top2_logit)), 6),
        "tokens": ids,
        "top1": top1,
        "top1_logit": top1_logit,
        "top2": top2,
        "top2_logit": top2_logit,
        "token_by_token": {
            "command": "llama-refs top1 -m MODEL -t THREADS -c 512 --top 1 --ubatch 1 < tokens  (the same "
                       "decode with n_ubatch = 1: one token per graph, as in generation)",
            "top1": top1_tbt,
            "agreement_with_top1": round(sum(a == b for a, b in zip(top1, top1_tbt)) / len(ids), 6),
        },
    })


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="tokens,greedy,top1", help="comma list of tokens, greedy, top1")
    ap.add_argument("--model", action="append", choices=MODELS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", help="llama.cpp peer bin dir (default: bench/peer/build-llama-cpp --print-bin-dir)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "real"))
    args = ap.parse_args()
    try:
        bin_dir = args.bin or run([ROOT / "bench" / "peer" / "build-llama-cpp", "--print-bin-dir"]
                                  ).stdout.decode().strip()
        peer = Peer(bin_dir, args.threads)
        out_dir = Path(args.out)
        kinds = [k for k in args.only.split(",") if k]
        for k in kinds:
            if k not in ("tokens", "greedy", "top1"):
                raise RefError(f"unknown --only item {k!r}")
        log(f"llama.cpp {peer.commit} {peer.build} (llama-cpp-python {peer.pkg_version}) from {bin_dir}")
        for name in args.model or MODELS:
            path = model_path(name)
            if "tokens" in kinds:
                make_tokens(peer, name, path, out_dir)
            if "greedy" in kinds:
                make_greedy(peer, name, path, out_dir)
            if "top1" in kinds:
                make_top1(peer, name, path, out_dir)
    except RefError as e:
        print(f"make_llama_refs: error: {e}", file=sys.stderr)
        return 1
    log(f"done at {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
