#!/usr/bin/env python3
"""Trains the tiny Gemma-style SentencePiece tokenizer of the gemma3n_tiny fixture.

    pip install sentencepiece
    python3 tools/make_sp_tokenizer.py --out tests/data/models/gemma3n_tiny --vocab-size 480

Writes <out>/tokenizer.model and <out>/tokenizer_config.json. The model is BPE with byte
fallback and Gemma's special-token layout (<pad>=0, <eos>=1, <bos>=2, <unk>=3, then
<start_of_turn>=4, <end_of_turn>=5 as user-defined pieces, then the 256 byte pieces
<0x00>..<0xFF>, then merges). Like Gemma's tokenizer it uses the identity normalizer, no dummy
prefix, keeps repeated whitespace and splits digits. Its piece count is the fixture's
vocab_size_per_layer_input (480), while the HF checkpoint has vocab_size 512 rows, mirroring the
real Gemma 3n layout (262144 SentencePiece pieces, 262400 embedding rows).

The training text is generated from a fixed seed, so the output is reproducible with the same
sentencepiece version (recorded in tokenizer_config.json).
"""

import argparse
import io
import json
import os
import random

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "sho", "ven", "dar", "ith", "um", "pel", "gra",
             "qui", "zo", "bel", "tor", "an", "es", "il", "on", "ur", "str", "ch", "th", "wh",
             "ing", "ed", "er", "ly", "tion", "re", "de", "co", "pro", "ex"]
PUNCT = [".", ",", "!", "?", ";", ":", "'", "\"", "(", ")", "-"]
RARE = ["é", "ü", "ß", "ñ", "日本", "中文", "→", "€", "😀"]
# Rare enough to fall outside character_coverage: they become <0xNN> byte pieces.
VERY_RARE = ["ø", "ж", "λ", "🙂"]


def corpus(seed, n_lines):
    rnd = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        words = []
        for _ in range(rnd.randint(4, 16)):
            r = rnd.random()
            if r < 0.0005:
                words.append(rnd.choice(VERY_RARE))
            elif r < 0.08:
                words.append(str(rnd.randint(0, 99999)))
            elif r < 0.10:
                words.append(rnd.choice(RARE))
            else:
                w = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(1, 4)))
                if rnd.random() < 0.15:
                    w = w.capitalize()
                if rnd.random() < 0.1:
                    w += rnd.choice(PUNCT)
                words.append(w)
        sep = "  " if rnd.random() < 0.05 else " "
        lines.append(sep.join(words))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab-size", type=int, default=480)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    import sentencepiece as spm

    os.makedirs(args.out, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus(args.seed, 20000)), model_writer=model,
        model_type="bpe", vocab_size=args.vocab_size, byte_fallback=True,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>"],
        normalization_rule_name="identity", add_dummy_prefix=False,
        remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
        character_coverage=0.999, num_threads=1, shuffle_input_sentence=False,
        input_sentence_size=0, max_sentence_length=4096, minloglevel=1)
    with open(os.path.join(args.out, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())

    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    assert sp.get_piece_size() == args.vocab_size, sp.get_piece_size()
    assert [sp.id_to_piece(i) for i in range(6)] == [
        "<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    # Read by llama.cpp's converter (add_bos / add_eos) and by HF tokenizers.
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "model_max_length": 256,
        "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer",
        # As in Gemma's own tokenizer_config.json: the turn markers are special (llama.cpp's
        # converter then types them CONTROL).
        "added_tokens_decoder": {
            str(i): {"content": sp.id_to_piece(i), "lstrip": False, "normalized": False,
                     "rstrip": False, "single_word": False, "special": True}
            for i in (4, 5)},
        "sentencepiece_version": spm.__version__,
        "training": f"tools/make_sp_tokenizer.py --vocab-size {args.vocab_size} --seed {args.seed}",
    }
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    sample = "Kalo mine 2024, é 日本 λ!"
    print(f"pieces={sp.get_piece_size()} sample={sample!r} -> {sp.encode(sample)} "
          f"{sp.encode(sample, out_type=str)}")


if __name__ == "__main__":
    main()
