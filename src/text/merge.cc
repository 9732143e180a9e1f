#include "text/merge.h"

#include <algorithm>
#include <queue>
#include <string>

#include "text/unicode.h"

namespace unicorn::text {
namespace {

// One piece of the text being merged; merged pieces keep their left neighbour's start and
// grow, the right one is emptied (len 0). prev/next link the live pieces.
struct Symbol {
    size_t start = 0;
    size_t len = 0;
    int prev = -1;
    int next = -1;
};

std::vector<Symbol> utf8_symbols(std::string_view text) {
    std::vector<Symbol> syms;
    size_t off = 0;
    while (off < text.size()) {
        Symbol s;
        s.start = off;
        s.len = std::min(utf8_sequence_length(static_cast<uint8_t>(text[off])), text.size() - off);
        off += s.len;
        s.prev = static_cast<int>(syms.size()) - 1;
        s.next = off == text.size() ? -1 : static_cast<int>(syms.size()) + 1;
        syms.push_back(s);
    }
    return syms;
}

struct SpmBigram {
    float score;
    int left;
    int right;
    size_t size;
};
// Highest score first; among equal scores the leftmost pair.
struct SpmOrder {
    bool operator()(const SpmBigram& a, const SpmBigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

struct BpeBigram {
    int rank;
    int left;
    int right;
    std::string text;  // left + right when queued; a stale entry no longer matches
};
// Lowest rank first; among equal ranks the leftmost pair.
struct BpeOrder {
    bool operator()(const BpeBigram& a, const BpeBigram& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

// Merges `right` into `left` and unlinks it.
void merge_into_left(std::vector<Symbol>& syms, int left, int right) {
    Symbol& l = syms[static_cast<size_t>(left)];
    Symbol& r = syms[static_cast<size_t>(right)];
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = left;
}

}  // namespace

void spm_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
    std::vector<Symbol> syms = utf8_symbols(text);
    std::priority_queue<SpmBigram, std::vector<SpmBigram>, SpmOrder> queue;
    const auto try_pair = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol& l = syms[static_cast<size_t>(left)];
        const Symbol& r = syms[static_cast<size_t>(right)];
        const int32_t id = vocab.find(text.substr(l.start, l.len + r.len));
        if (id == kNoToken) return;
        queue.push({vocab.tokens[static_cast<size_t>(id)].score, left, right, l.len + r.len});
    };
    for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_pair(i - 1, i);

    while (!queue.empty()) {
        const SpmBigram b = queue.top();
        queue.pop();
        const Symbol& l = syms[static_cast<size_t>(b.left)];
        const Symbol& r = syms[static_cast<size_t>(b.right)];
        // Skip pairs of which a side has merged since they were queued.
        if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;
        merge_into_left(syms, b.left, b.right);
        try_pair(syms[static_cast<size_t>(b.left)].prev, b.left);
        try_pair(b.left, syms[static_cast<size_t>(b.left)].next);
    }

    for (int i = syms.empty() ? -1 : 0; i != -1; i = syms[static_cast<size_t>(i)].next) {
        const Symbol& s = syms[static_cast<size_t>(i)];
        const std::string_view piece = text.substr(s.start, s.len);
        const int32_t id = vocab.find(piece);
        if (id != kNoToken) {
            out.push_back(id);
            continue;
        }
        // Not a token: byte fallback, one <0xXX> per byte (merged pieces are always tokens, so
        // this is a single character).
        for (char c : piece) {
            const int32_t byte_id = vocab.byte_token(static_cast<uint8_t>(c));
            if (byte_id != kNoToken) {
                out.push_back(byte_id);
            } else if (vocab.unk != kNoToken) {
                out.push_back(vocab.unk);
            }
        }
    }
}

void bpe_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
    const bool byte_encode = vocab.pre.byte_encode();
    for (const std::string& word : vocab.pre.split(text)) {
        std::vector<Symbol> syms;
        const bool whole =
            (vocab.ignore_merges && vocab.find(word) != kNoToken) ||
            (vocab.newline_words_whole && word.find_first_not_of('\n') == std::string::npos &&
             vocab.find(word) != kNoToken);
        if (whole) {
            syms.push_back({0, word.size(), -1, -1});
        } else {
            syms = utf8_symbols(word);
        }

        std::priority_queue<BpeBigram, std::vector<BpeBigram>, BpeOrder> queue;
        const auto try_pair = [&](int left, int right) {
            if (left < 0 || right < 0) return;
            const Symbol& l = syms[static_cast<size_t>(left)];
            const Symbol& r = syms[static_cast<size_t>(right)];
            std::string ls = word.substr(l.start, l.len);
            std::string rs = word.substr(r.start, r.len);
            const int rank = vocab.merge_rank(ls, rs);
            if (rank < 0) return;
            queue.push({rank, left, right, ls + rs});
        };
        for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_pair(i - 1, i);

        while (!queue.empty()) {
            BpeBigram b = queue.top();
            queue.pop();
            const Symbol& l = syms[static_cast<size_t>(b.left)];
            const Symbol& r = syms[static_cast<size_t>(b.right)];
            if (l.len == 0 || r.len == 0) continue;
            if (word.compare(l.start, l.len + r.len, b.text) != 0 || l.next != b.right)
                continue;  // stale
            merge_into_left(syms, b.left, b.right);
            try_pair(syms[static_cast<size_t>(b.left)].prev, b.left);
            try_pair(b.left, syms[static_cast<size_t>(b.left)].next);
        }

        for (const Symbol& s : syms) {
            if (s.len == 0) continue;
            const std::string_view piece = std::string_view(word).substr(s.start, s.len);
            const int32_t id = vocab.find(piece);
            if (id != kNoToken) {
                out.push_back(id);
                continue;
            }
            // Not a token: each byte of the piece on its own. Byte-alphabet vocabularies look the
            // raw byte up (llama.cpp does, so a byte outside the ASCII part of the alphabet is
            // dropped); SPM-style ones use <0xXX>.
            for (char c : piece) {
                const int32_t byte_id = byte_encode ? vocab.find(std::string(1, c))
                                                    : vocab.byte_token(static_cast<uint8_t>(c));
                if (byte_id != kNoToken) out.push_back(byte_id);
            }
        }
    }
}

}  // namespace unicorn::text
