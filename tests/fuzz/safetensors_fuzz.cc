// Fuzz target for the safetensors reader and the shard index parser: every input is tried as
// a safetensors file and as a model.safetensors.index.json text; every accepted tensor's view
// is read byte by byte. See gguf_fuzz.cc for how it is built.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../io/io_test_util.h"
#include "core/log.h"
#include "io/safetensors.h"

namespace {

void require(bool cond) {
    if (!cond) std::abort();
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
    auto r = unicorn::io::SafetensorsFile::parse_bytes(bytes);
    if (r.ok()) {
        const uint8_t* begin = bytes->data();
        const uint8_t* end = begin + bytes->size();
        for (const auto& info : r->tensors()) {
            const auto* p = static_cast<const uint8_t*>(info.data);
            require(p >= begin && p + info.nbytes() <= end);
            require(r->tensor(info.name) != nullptr);
            auto t = r->tensor_view(info.name);
            if (!t.ok()) {
                require(!info.unsupported_reason.empty());
                continue;
            }
            require(t->nbytes() == info.nbytes());
            const auto* q = static_cast<const uint8_t*>(t->data());
            uint8_t sum = 0;
            for (size_t i = 0; i < t->nbytes(); ++i) sum ^= q[i];
            (void)sum;
        }
    } else {
        require(!r.status().message().empty());
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto index = unicorn::io::parse_safetensors_index(text);
    if (index.ok()) {
        for (const auto& [name, shard] : *index) require(!shard.empty());
    }
    return 0;
}

std::vector<std::vector<uint8_t>> unicorn_fuzz_seeds() {
    using unicorn::io::testing::as_bytes;
    using unicorn::io::testing::make_safetensors;
    std::vector<std::vector<uint8_t>> seeds;
    seeds.push_back(make_safetensors({
        {"model.embed_tokens.weight",
         "F32",
         {2, 3},
         as_bytes(std::vector<float>{1, 2, 3, 4, 5, 6})},
        {"model.norm.weight",
         "BF16",
         {4},
         as_bytes(std::vector<uint16_t>{0x3f80, 0x4000, 0xbf80, 0})},
        {"lm_head.weight",
         "F16",
         {2, 2},
         as_bytes(std::vector<uint16_t>{0x3c00, 0x4000, 0x4200, 0x4400})},
        {"position_ids", "I64", {1, 3}, as_bytes(std::vector<int64_t>{0, 1, 2})},
        {"empty", "F32", {0, 4}, {}},
    }));
    // Unpadded header: misaligned data, the copying path.
    seeds.push_back(
        make_safetensors({{"x", "F32", {3}, as_bytes(std::vector<float>{1, 2, 3})}}, 1, false));
    seeds.push_back(
        make_safetensors({{"a", "F32", {1, 1, 1, 1, 1}, as_bytes(std::vector<float>{1})}}));
    const std::string index =
        R"({"metadata": {"total_size": 16}, "weight_map": {"a": "model-00001-of-00002.safetensors",)"
        R"( "b": "model-00002-of-00002.safetensors"}})";
    seeds.emplace_back(index.begin(), index.end());
    return seeds;
}
