// The per-tensor type rules (models/common/quant_policy.h) on cases the llama.cpp references
// (quantize_test.cc) do not reach: names, aliases and errors, llama.cpp's tensor order, the
// explicit --output-tensor-type / --token-embedding-type, and the Llama 70B attn_v rule.
#include "models/common/quant_policy.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace unicorn {
namespace {

QuantRequest request(const char* scheme) {
    QuantRequest r;
    r.scheme = *find_quant_scheme(scheme);
    return r;
}

TEST(QuantPolicy, SchemeNamesAreCaseInsensitiveWithLlamaQuantizeAliases) {
    EXPECT_STREQ(find_quant_scheme("q4_k_m")->name, "Q4_K_M");
    EXPECT_EQ(find_quant_scheme("Q4_K_M")->file_type, 15u);  // llama_ftype, general.file_type
    EXPECT_STREQ(find_quant_scheme("q4_k")->name, "Q4_K_M");
    EXPECT_STREQ(find_quant_scheme("Q3_K")->name, "Q3_K_M");
    EXPECT_EQ(find_quant_scheme("bf16")->file_type, 32u);
    auto bad = find_quant_scheme("Q4_K_XL");
    ASSERT_FALSE(bad.ok());
    for (const QuantScheme& s : quant_schemes())
        EXPECT_NE(bad.status().message().find(s.name), std::string::npos) << s.name;
    EXPECT_EQ(*parse_quant_tensor_type("q8_0"), DType::kQ8_0);
    EXPECT_FALSE(parse_quant_tensor_type("Q4_K_M").ok());  // a scheme, not a tensor type
}

TEST(QuantPolicy, TensorOrderIsLlamaCppsGlobalsThenLayersNumerically) {
    std::vector<std::string> names = {"blk.10.attn_q.weight", "blk.2.ffn_up.weight",
                                      "token_embd.weight",    "blk.2.attn_k.weight",
                                      "output_norm.weight",   "blk.1.attn_q.weight"};
    std::sort(names.begin(), names.end(), llama_cpp_tensor_less);
    EXPECT_EQ(names, (std::vector<std::string>{"output_norm.weight", "token_embd.weight",
                                               "blk.1.attn_q.weight", "blk.2.attn_k.weight",
                                               "blk.2.ffn_up.weight", "blk.10.attn_q.weight"}));
}

TEST(QuantPolicy, ExplicitTypesMustFitTheRows) {
    const QuantModelFacts m{"llama", 1, 4, 4};
    const std::vector<QuantTensor> t = {{"token_embd.weight", DType::kF32, Shape{32, 640}},
                                        {"output.weight", DType::kF32, Shape{32, 640}}};
    QuantRequest r = request("Q4_0");
    r.token_embd_type = DType::kQ4_K;  // 640 is not a multiple of 256
    auto bad = choose_quant_types(m, r, t);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("--token-embedding-type Q4_K"), std::string::npos);
    EXPECT_NE(bad.status().message().find("token_embd.weight"), std::string::npos);
    r.token_embd_type = DType::kQ5_0;
    r.output_type = DType::kF16;
    auto ok = choose_quant_types(m, r, t);
    ASSERT_TRUE(ok.ok()) << ok.status().to_string();
    EXPECT_EQ((*ok)[0].type, DType::kQ5_0);
    EXPECT_EQ((*ok)[1].type, DType::kF16);
    // Without them the untied output gets the output rule's Q6_K, whose 256-element blocks do
    // not fit rows of 640: its fallback, Q8_0.
    auto mix = choose_quant_types(m, request("Q4_0"), t);
    ASSERT_TRUE(mix.ok());
    EXPECT_EQ((*mix)[0].type, DType::kQ4_0);
    EXPECT_EQ((*mix)[1].type, DType::kQ8_0);
    EXPECT_TRUE((*mix)[1].fell_back);
}

// llama.cpp gives Llama 70B-shaped models (80 layers, grouped-query attention) Q5_K attn_v where
// the mix would give Q3_K or Q4_K; other depths do not get it.
TEST(QuantPolicy, Llama70bAttnVGetsMoreBits) {
    for (int64_t layers : {80, 40}) {
        const QuantModelFacts m{"llama", layers, 64, 8};
        std::vector<QuantTensor> t;
        for (int64_t l = 0; l < layers; ++l)
            t.push_back(
                {"blk." + std::to_string(l) + ".attn_v.weight", DType::kF16, Shape{1024, 8192}});
        std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) {
            return llama_cpp_tensor_less(a.name, b.name);
        });
        auto c = choose_quant_types(m, request("Q3_K_S"), t);
        ASSERT_TRUE(c.ok());
        for (const QuantChoice& q : *c)
            EXPECT_EQ(q.type, layers == 80 ? DType::kQ5_K : DType::kQ3_K) << layers;
    }
}

TEST(QuantPolicy, NormsOneDimensionalAndSmallGemma3nTensorsKeepTheirType) {
    const QuantModelFacts m{"gemma3n", 1, 2, 1};
    const std::vector<QuantTensor> t = {
        {"blk.0.altup_router.weight", DType::kF32, Shape{4, 256}},
        {"blk.0.attn_norm.weight", DType::kF32, Shape{256}},
        {"blk.0.laurel_l.weight", DType::kF32, Shape{64, 256}},
        {"blk.0.ffn_up.weight", DType::kBF16, Shape{512, 256}},
        {"per_layer_model_proj.weight", DType::kBF16, Shape{256, 256}},
        {"rope_freqs.weight", DType::kF32, Shape{64}}};
    auto c = choose_quant_types(m, request("Q4_K_M"), t);
    ASSERT_TRUE(c.ok());
    for (size_t i = 0; i < t.size(); ++i) {
        const bool ffn = t[i].name == "blk.0.ffn_up.weight";
        EXPECT_EQ((*c)[i].quantizable, ffn) << t[i].name;
        EXPECT_EQ((*c)[i].type, ffn ? DType::kQ4_K : t[i].dtype) << t[i].name;
    }
}

}  // namespace
}  // namespace unicorn
