// llama-refs: a tiny program on llama.cpp's public API (include/llama.h) that prints the
// reference data Unicorn is checked against and that llama.cpp's own tools do not print
// in full: the argmax of the logits at EVERY position of a prompt, and the token ids of a greedy
// continuation. bench/peer/build-llama-cpp compiles it against the llama.cpp it builds; it is
// not part of Unicorn.
//
//   llama-refs top1   -m MODEL.gguf [-t THREADS] [--top K]  < ids
//       decodes the ids (whitespace-separated, read from stdin) in ONE batch with logits for
//       every position, and prints one line per position:
//         POS ID1 LOGIT1 ID2 LOGIT2 ... (the K best, K = 2 by default, logits with %.6f)
//   llama-refs greedy -m MODEL.gguf [-t THREADS] [-n N] [--split-last]  < ids
//       decodes the prompt ids in one batch (with --split-last: all but the last id, then the
//       last one, the way llama-completion does when it writes a session file), then samples
//       greedily (argmax, lowest id on ties) one token at a time; prints one line per generated
//       token, "ID LOGIT ID2 LOGIT2" (the runner-up too, to expose near-ties), and stops after N
//       tokens or after an end-of-generation token (which is printed).
//   llama-refs detok  -m MODEL.gguf [--special]  < ids
//       prints the text of the ids (llama_token_to_piece of each, concatenated, no newline;
//       special tokens rendered only with --special), to compare with the tools' printed text.
//
// top1 and greedy take -c N_CTX (default 512, as `llama-completion -c 512`); n_batch = n_ubatch =
// max(prompt, 512); llama.cpp's default context parameters otherwise (flash attention "auto",
// f16 KV cache), or with --kv-f32 an F32 KV cache and no flash attention. --ubatch N makes
// llama_decode run the batch in micro-batches of N tokens (same logits in exact arithmetic).
#include "llama.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

static void quiet_log(enum ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static int usage() {
    fprintf(stderr, "usage: llama-refs top1|greedy|detok -m MODEL.gguf [-t THREADS] [-c N_CTX] [-n N] [--top K]"
                    " [--split-last] [--special] [--kv-f32] [--ubatch N] < ids\n");
    return 2;
}

int main(int argc, char ** argv) {
    if (argc < 2) return usage();
    const std::string mode = argv[1];
    if (mode != "top1" && mode != "greedy" && mode != "detok") return usage();
    std::string model_path;
    int n_threads = 2, n_predict = 64, top_k = 2, n_ctx = 512, n_ubatch = 0;
    bool split_last = false, special = false, kv_f32 = false;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--split-last") { split_last = true; continue; }
        if (a == "--special") { special = true; continue; }
        if (a == "--kv-f32") { kv_f32 = true; continue; }
        if (i + 1 >= argc) return usage();
        if (a == "-m") model_path = argv[++i];
        else if (a == "-t") n_threads = std::atoi(argv[++i]);
        else if (a == "-n") n_predict = std::atoi(argv[++i]);
        else if (a == "--top") top_k = std::atoi(argv[++i]);
        else if (a == "-c") n_ctx = std::atoi(argv[++i]);
        else if (a == "--ubatch") n_ubatch = std::atoi(argv[++i]);
        else return usage();
    }
    if (model_path.empty() || n_threads < 1 || n_predict < 1 || top_k < 1) return usage();

    std::vector<llama_token> prompt;
    for (long v; std::cin >> v;) prompt.push_back((llama_token) v);
    if (prompt.empty()) { fprintf(stderr, "llama-refs: no token ids on stdin\n"); return 1; }

    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model) { fprintf(stderr, "llama-refs: cannot load %s\n", model_path.c_str()); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    if (mode == "detok") {
        std::string text;
        for (llama_token id : prompt) {
            char buf[512];
            const int n = llama_token_to_piece(vocab, id, buf, sizeof buf, 0, special);
            if (n < 0) { fprintf(stderr, "llama-refs: token %d has no piece\n", id); return 1; }
            text.append(buf, (size_t) n);
        }
        fwrite(text.data(), 1, text.size(), stdout);
        llama_model_free(model);
        return 0;
    }

    const int n_prompt = (int) prompt.size();
    llama_context_params cp = llama_context_default_params();
    if (n_ctx < n_prompt + (mode == "greedy" ? n_predict : 0)) {
        fprintf(stderr, "llama-refs: -c %d is too small for %d prompt tokens\n", n_ctx, n_prompt);
        return 1;
    }
    cp.n_ctx = (uint32_t) n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t) std::max(n_prompt, 512);
    if (n_ubatch > 0) cp.n_ubatch = (uint32_t) n_ubatch;  // llama_decode splits the batch
    cp.n_threads = cp.n_threads_batch = n_threads;
    cp.no_perf = true;
    if (kv_f32) {  // exact K/V and no flash attention: only llama.cpp's op numerics remain
        cp.type_k = cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llama-refs: cannot create a context\n"); return 1; }

    const bool all_logits = mode == "top1";
    llama_batch batch = llama_batch_init(n_prompt, 0, 1);
    auto decode_range = [&](int begin, int end) {
        for (int i = begin; i < end; ++i) {
            const int j = i - begin;
            batch.token[j] = prompt[i];
            batch.pos[j] = i;
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = 0;
            batch.logits[j] = all_logits || i == n_prompt - 1;
        }
        batch.n_tokens = end - begin;
        return llama_decode(ctx, batch) == 0;
    };
    const bool ok = (split_last && !all_logits && n_prompt > 1)
        ? decode_range(0, n_prompt - 1) && decode_range(n_prompt - 1, n_prompt)
        : decode_range(0, n_prompt);
    if (!ok) { fprintf(stderr, "llama-refs: decode failed\n"); return 1; }

    auto best = [&](const float * logits, int k) {
        std::vector<int> idx(n_vocab);
        for (int i = 0; i < n_vocab; ++i) idx[i] = i;
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
            return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
        });
        idx.resize(k);
        return idx;
    };

    if (all_logits) {
        for (int i = 0; i < n_prompt; ++i) {
            const float * lg = llama_get_logits_ith(ctx, i);
            printf("%d", i);
            for (int id : best(lg, top_k)) printf(" %d %.6f", id, lg[id]);
            printf("\n");
        }
    } else {
        for (int n = 0; n < n_predict; ++n) {
            const float * lg = llama_get_logits_ith(ctx, -1);
            const std::vector<int> b = best(lg, 2);
            const llama_token id = b[0];
            printf("%d %.6f %d %.6f\n", b[0], lg[b[0]], b[1], lg[b[1]]);
            fflush(stdout);
            if (llama_vocab_is_eog(vocab, id) || n + 1 == n_predict) break;
            llama_token tok = id;
            llama_batch one = llama_batch_get_one(&tok, 1);
            if (llama_decode(ctx, one) != 0) { fprintf(stderr, "llama-refs: decode failed\n"); return 1; }
        }
    }

    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
