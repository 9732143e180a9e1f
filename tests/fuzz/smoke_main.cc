// A libFuzzer-free driver for the fuzz targets, so every normal (g++) build runs them under
// ctest: each seed from unicorn_fuzz_seeds() (and any files or folders named on the command
// line), then deterministic mutations of every seed (truncation at many lengths, byte flips,
// huge values written over every 4- and 8-byte window, where GGUF and safetensors keep their
// counts and lengths), then seeded random mutations until the time budget runs out.
//
//   <target>_fuzz_smoke [--seconds S] [--write-seeds DIR] [corpus files or folders...]
//
// --write-seeds writes the built-in seeds as files, a starting corpus for the libFuzzer
// binaries. A crash, sanitizer report or abort() in the target fails the run; the last input
// is saved to $UNICORN_FUZZ_CRASH_FILE (default ./fuzz_smoke_last_input) first, so it can be
// replayed.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
std::vector<std::vector<uint8_t>> unicorn_fuzz_seeds();

namespace {

using Clock = std::chrono::steady_clock;
using Input = std::vector<uint8_t>;

std::string g_last_input_path = "fuzz_smoke_last_input";
bool g_save_inputs = false;  // only when asked: writing every input would dominate the run
uint64_t g_runs = 0;

void run(const Input& in) {
    if (g_save_inputs) {
        std::ofstream f(g_last_input_path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
    }
    // A copy in its own allocation, so ASan catches reads past the end of the input.
    std::vector<uint8_t> copy(in);
    LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
    ++g_runs;
}

// xorshift64*: deterministic across platforms, unlike std::uniform_int_distribution.
struct Rng {
    uint64_t s;
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

constexpr uint64_t kInteresting64[] = {
    0xffffffffffffffffull,
    0x8000000000000000ull,
    0x7fffffffffffffffull,
    1ull << 32,
    1ull << 40,
    0xffffffffull,
    0x100000000000ull,
    0,
    1,
    64,
};
constexpr uint32_t kInteresting32[] = {0xffffffffu, 0x80000000u, 0x7fffffffu, 0,  1,          3,
                                       5,           9,           13,          99, 0x03000000u};

void put64(Input& in, size_t at, uint64_t v) { std::memcpy(in.data() + at, &v, 8); }
void put32(Input& in, size_t at, uint32_t v) { std::memcpy(in.data() + at, &v, 4); }

void deterministic(const Input& seed) {
    const size_t n = seed.size();
    // Truncations: every length for small seeds, about 1024 evenly spread ones otherwise.
    const size_t trunc_step = n <= 1024 ? 1 : n / 1024;
    for (size_t len = 0; len < n; len += trunc_step) run(Input(seed.begin(), seed.begin() + len));
    // Byte flips and interesting values in every header-ish position (first 1 KiB).
    const size_t window = n < 1024 ? n : 1024;
    for (size_t i = 0; i < window; ++i) {
        for (uint8_t v :
             {uint8_t(0x00), uint8_t(0xff), uint8_t(seed[i] ^ 0x80), uint8_t(seed[i] + 1)}) {
            Input m = seed;
            m[i] = v;
            run(m);
        }
    }
    // Huge counts/lengths/offsets written over every 8- and 4-byte window.
    for (size_t i = 0; i + 8 <= window; ++i) {
        for (uint64_t v : kInteresting64) {
            Input m = seed;
            put64(m, i, v);
            run(m);
        }
    }
    for (size_t i = 0; i + 4 <= window; ++i) {
        for (uint32_t v : kInteresting32) {
            Input m = seed;
            put32(m, i, v);
            run(m);
        }
    }
}

Input mutate(const std::vector<Input>& seeds, Rng& rng) {
    Input m = seeds[rng.below(seeds.size())];
    const int n_mutations = 1 + static_cast<int>(rng.below(8));
    for (int k = 0; k < n_mutations; ++k) {
        switch (rng.below(7)) {
            case 0:  // flip a bit
                if (!m.empty()) m[rng.below(m.size())] ^= static_cast<uint8_t>(1u << rng.below(8));
                break;
            case 1:  // random byte
                if (!m.empty()) m[rng.below(m.size())] = static_cast<uint8_t>(rng.next());
                break;
            case 2:  // interesting 64-bit value
                if (m.size() >= 8)
                    put64(m, rng.below(m.size() - 7),
                          kInteresting64[rng.below(std::size(kInteresting64))]);
                break;
            case 3:  // interesting 32-bit value
                if (m.size() >= 4)
                    put32(m, rng.below(m.size() - 3),
                          kInteresting32[rng.below(std::size(kInteresting32))]);
                break;
            case 4:  // truncate
                m.resize(rng.below(m.size() + 1));
                break;
            case 5: {  // insert random bytes
                const size_t at = rng.below(m.size() + 1);
                Input chunk(1 + rng.below(16));
                for (uint8_t& b : chunk) b = static_cast<uint8_t>(rng.next());
                m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), chunk.begin(), chunk.end());
                break;
            }
            default: {  // splice in part of another seed
                const Input& other = seeds[rng.below(seeds.size())];
                if (other.empty() || m.empty()) break;
                const size_t from = rng.below(other.size());
                const size_t len = 1 + rng.below(std::min<size_t>(64, other.size() - from));
                const size_t at = rng.below(m.size());
                for (size_t i = 0; i < len && at + i < m.size(); ++i) m[at + i] = other[from + i];
                break;
            }
        }
    }
    return m;
}

void add_corpus_path(const std::filesystem::path& p, std::vector<Input>* seeds) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
            if (e.is_regular_file()) files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());  // deterministic order
        for (const auto& f : files) add_corpus_path(f, seeds);
        return;
    }
    std::ifstream f(p, std::ios::binary);
    if (!f) {
        std::fprintf(stderr, "cannot read corpus file %s\n", p.c_str());
        std::exit(2);
    }
    seeds->emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
    LLVMFuzzerInitialize(&argc, &argv);
    double seconds = 3.0;
    std::string write_seeds_dir;
    std::vector<Input> seeds = unicorn_fuzz_seeds();
    const size_t builtin = seeds.size();
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
        } else if (arg == "--write-seeds" && i + 1 < argc) {
            write_seeds_dir = argv[++i];
        } else {
            add_corpus_path(arg, &seeds);
        }
    }
    if (const char* crash_file = std::getenv("UNICORN_FUZZ_CRASH_FILE")) {
        g_last_input_path = crash_file;
        g_save_inputs = true;
    }

    if (!write_seeds_dir.empty()) {
        std::filesystem::create_directories(write_seeds_dir);
        for (size_t i = 0; i < builtin; ++i) {
            const std::string path = write_seeds_dir + "/seed_" + std::to_string(i);
            std::ofstream f(path, std::ios::binary);
            f.write(reinterpret_cast<const char*>(seeds[i].data()),
                    static_cast<std::streamsize>(seeds[i].size()));
        }
        std::printf("wrote %zu seeds to %s\n", builtin, write_seeds_dir.c_str());
        return 0;
    }

    const auto start = Clock::now();
    for (const Input& s : seeds) run(s);
    for (const Input& s : seeds) deterministic(s);
    const uint64_t deterministic_runs = g_runs;
    const double det_seconds = std::chrono::duration<double>(Clock::now() - start).count();

    Rng rng{0x9E3779B97F4A7C15ull};
    const auto deadline = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
        for (int i = 0; i < 64; ++i) run(mutate(seeds, rng));
    }
    const double total = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf(
        "%zu seeds, %llu deterministic runs in %.2f s, %llu runs in %.2f s total: no crash\n",
        seeds.size(), static_cast<unsigned long long>(deterministic_runs), det_seconds,
        static_cast<unsigned long long>(g_runs), total);
    return 0;
}
