// Fuzz target for the GGUF reader: parse, then read every metadata value through every
// accessor and touch every byte of every tensor view (so ASan sees any out-of-range view).
// Built as a libFuzzer binary (tests/fuzz/CMakeLists.txt, UNICORN_FUZZ=ON) and, with
// smoke_main.cc, as a ctest smoke run over the seeds below plus deterministic mutations.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../io/io_test_util.h"
#include "core/log.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"

namespace {

using unicorn::io::GgufFile;
using unicorn::io::GgufType;
using unicorn::io::GgufValue;

// Invariant of the reader, not an input error: abort so the fuzzer reports it.
void require(bool cond) {
    if (!cond) std::abort();
}

void exercise(const GgufValue& v) {
    (void)v.to_string();
    (void)v.as_u64();
    (void)v.as_i64();
    (void)v.as_f64();
    (void)v.as_bool();
    (void)v.as_string();
    if (!v.is_array()) return;
    (void)v.as_i64_array();
    (void)v.as_f64_array();
    (void)v.as_string_array();
    for (size_t i = 0; i < v.size(); ++i) exercise(v.at(i));
    std::vector<uint8_t> out;
    v.encode(out);
}

}  // namespace

// Called once by libFuzzer (and smoke_main.cc) before any input. Warnings such as "tensor is
// misaligned, copying it" are expected on fuzzed input and would drown the output.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    unicorn::set_log_level(unicorn::LogLevel::kError);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto bytes = std::make_shared<const std::vector<uint8_t>>(data, data + size);
    auto r = GgufFile::parse_bytes(bytes);
    if (!r.ok()) {
        require(!r.status().message().empty());
        return 0;
    }
    const GgufFile& f = *r;
    for (const auto& [key, value] : f.metadata()) {
        exercise(value);
        require(f.find(key) != nullptr);
        (void)f.get_u32(key);
        (void)f.get_i32(key);
        (void)f.get_u64(key);
        (void)f.get_i64(key);
        (void)f.get_f32(key);
        (void)f.get_f64(key);
        (void)f.get_bool(key);
        (void)f.get_string(key);
        (void)f.get_i32_array(key);
        (void)f.get_u32_array(key);
        (void)f.get_f32_array(key);
        (void)f.get_string_array(key);
        (void)f.get_u32_per_layer(key, 3);
    }
    const uint8_t* begin = bytes->data();
    const uint8_t* end = begin + bytes->size();
    for (const auto& info : f.tensors()) {
        const auto* p = static_cast<const uint8_t*>(info.data);
        require(p >= begin && p + info.nbytes <= end);
        auto t = f.tensor_view(info.name);
        require(t.ok());
        require(t->nbytes() == info.nbytes);
        uint8_t sum = 0;
        for (size_t i = 0; i < info.nbytes; ++i) sum ^= p[i];
        (void)sum;
    }
    return 0;
}

// Seeds: small valid files covering every value type, several dtypes and alignments.
std::vector<std::vector<uint8_t>> unicorn_fuzz_seeds() {
    using unicorn::DType;
    using unicorn::Shape;
    using unicorn::io::GgufWriter;
    std::vector<std::vector<uint8_t>> seeds;

    GgufWriter all;
    all.set_string("general.architecture", "llama");
    all.set_u8("u8", 1);
    all.set_i8("i8", -1);
    all.set_u16("u16", 2);
    all.set_i16("i16", -2);
    all.set_u32("llama.block_count", 2);
    all.set_i32("i32", -3);
    all.set_f32("llama.rope.freq_base", 10000.0f);
    all.set_bool("b", true);
    all.set_u64("u64", 5);
    all.set_i64("i64", -5);
    all.set_f64("f64", 0.25);
    all.set_array("tokenizer.ggml.tokens", std::vector<std::string>{"<s>", "a", "b"});
    all.set_array("tokenizer.ggml.scores", std::vector<float>{0, -1, -2});
    all.set_array("tokenizer.ggml.token_type", std::vector<int32_t>{3, 1, 1});
    all.set_array("flags", std::vector<bool>{true, false});
    all.set("nested",
            GgufValue::array_of(GgufType::kArray, {GgufValue::array(std::vector<uint16_t>{1, 2})}));
    std::vector<uint8_t> payload(4 * 34);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
    (void)all.add_tensor("f32", DType::kF32, Shape{2, 3}, payload.data(), 24);
    (void)all.add_tensor("f16", DType::kF16, Shape{5}, payload.data(), 10);
    (void)all.add_tensor("q8", DType::kQ8_0, Shape{2, 64}, payload.data(), 4 * 34);
    seeds.push_back(*all.to_bytes());

    GgufWriter aligned;
    aligned.set_alignment(64);
    (void)aligned.add_tensor("w", DType::kF32, Shape{1, 1, 2, 2}, payload.data(), 16);
    (void)aligned.add_tensor("e", DType::kF32, Shape{0}, payload.data(), 0);
    seeds.push_back(*aligned.to_bytes());

    GgufWriter meta_only;
    meta_only.set_string("general.name", "x");
    seeds.push_back(*meta_only.to_bytes());

    unicorn::io::testing::Bytes v2;
    v2.header(2, 1, 1)
        .kv_u32("general.alignment", 32)
        .tensor_info("t", {4}, 0, 0)
        .pad_to(32)
        .zeros(16);
    seeds.push_back(v2.data);
    return seeds;
}
