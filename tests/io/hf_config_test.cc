// config.json: flat vs text_config-nested lookups, typed errors, and both RoPE forms.
#include "io/hf_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "io_test_util.h"

namespace unicorn::io {
namespace {

using ::testing::HasSubstr;

HfConfig parse_ok(const std::string& text) {
    auto r = HfConfig::parse(text);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return std::move(r).value();
}

constexpr const char* kFlat = R"({
  "architectures": ["LlamaForCausalLM"],
  "model_type": "llama",
  "hidden_size": 64,
  "rms_norm_eps": 1e-05,
  "tie_word_embeddings": false,
  "hidden_act": "silu",
  "final_logit_softcapping": null,
  "eos_token_id": 2,
  "bad_int": "64",
  "float_int": 1000000.0,
  "huge": 18446744073709551615,
  "layer_types": ["sliding_attention", "full_attention"],
  "intermediate_size": [96, 96, 128],
  "mixed": [1, "x"],
  "scales": [0.5, 1, -2],
  "rope_theta": 10000.0
})";

TEST(HfConfig, FlatGetters) {
    HfConfig c = parse_ok(kFlat);
    EXPECT_FALSE(c.has_text_config());
    EXPECT_EQ(c.architectures(), (std::vector<std::string>{"LlamaForCausalLM"}));
    EXPECT_EQ(c.model_type(), "llama");
    EXPECT_EQ(*c.get_int("hidden_size"), 64);
    EXPECT_DOUBLE_EQ(*c.get_double("rms_norm_eps"), 1e-5);
    EXPECT_DOUBLE_EQ(*c.get_double("hidden_size"), 64.0);
    EXPECT_FALSE(*c.get_bool("tie_word_embeddings"));
    EXPECT_EQ(*c.get_string("hidden_act"), "silu");
    EXPECT_EQ(*c.get_int("float_int"), 1000000);
    EXPECT_EQ(*c.get_string_list("layer_types"),
              (std::vector<std::string>{"sliding_attention", "full_attention"}));
    EXPECT_EQ(*c.get_double_list("scales"), (std::vector<double>{0.5, 1, -2}));
}

TEST(HfConfig, NullCountsAsAbsent) {
    HfConfig c = parse_ok(kFlat);
    EXPECT_FALSE(c.has("final_logit_softcapping"));
    EXPECT_FALSE(c.has("nope"));
    EXPECT_TRUE(c.has("hidden_size"));
    EXPECT_EQ(c.get_double("final_logit_softcapping").status().code(), StatusCode::kNotFound);
    EXPECT_DOUBLE_EQ(*c.get_double_or("final_logit_softcapping", 0.0), 0.0);
    EXPECT_EQ(*c.get_int_or("nope", 7), 7);
    EXPECT_EQ(*c.get_int_or("hidden_size", 7), 64);
    EXPECT_EQ(*c.get_string_or("nope", "gelu"), "gelu");
    EXPECT_TRUE(*c.get_bool_or("nope", true));
}

TEST(HfConfig, TypeErrorsAreClear) {
    HfConfig c = parse_ok(kFlat);
    auto r = c.get_int("bad_int");
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(r.status().message(),
              "config.json: 'bad_int' must be an integer, found string \"64\"");
    EXPECT_THAT(c.get_int("rms_norm_eps").status().message(),
                HasSubstr("must be an integer, found number 1e-05"));
    EXPECT_EQ(c.get_int("huge").status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(c.get_string("hidden_size").status().message(),
                HasSubstr("'hidden_size' must be a string"));
    EXPECT_THAT(c.get_bool("hidden_size").status().message(), HasSubstr("must be true or false"));
    EXPECT_THAT(c.get_string_list("mixed").status().message(),
                HasSubstr("'mixed[0]' must be a string"));
    EXPECT_THAT(c.get_int_list("mixed").status().message(),
                HasSubstr("'mixed[1]' must be an integer"));
    EXPECT_EQ(c.get_int_or("bad_int", 1).status().code(), StatusCode::kCorrupt);
    auto missing = c.get_int("num_hidden_layers");
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(missing.status().message(), "config.json: 'num_hidden_layers' is missing");
}

TEST(HfConfig, IntLists) {
    HfConfig c = parse_ok(kFlat);
    EXPECT_EQ(*c.get_int_list("eos_token_id"), (std::vector<int64_t>{2}));
    EXPECT_EQ(*c.get_int_list("intermediate_size"), (std::vector<int64_t>{96, 96, 128}));
    EXPECT_EQ(*c.get_int_list("hidden_size", 3), (std::vector<int64_t>{64, 64, 64}));
    EXPECT_EQ(*c.get_int_list("intermediate_size", 3), (std::vector<int64_t>{96, 96, 128}));
    auto r = c.get_int_list("intermediate_size", 4);
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(), HasSubstr("has 3 entries, expected 4"));
}

constexpr const char* kNested = R"({
  "architectures": ["Gemma3nForConditionalGeneration"],
  "model_type": "gemma3n",
  "hidden_size": 1,
  "eos_token_id": [1, 106],
  "text_config": {
    "model_type": "gemma3n_text",
    "hidden_size": 2048,
    "bad": "x",
    "final_logit_softcapping": 30.0,
    "vocab_size": null
  },
  "vocab_size": 262400,
  "vision_config": {"hidden_size": 2}
})";

TEST(HfConfig, TextConfigFirstThenTopLevel) {
    HfConfig c = parse_ok(kNested);
    EXPECT_TRUE(c.has_text_config());
    EXPECT_EQ(*c.get_int("hidden_size"), 2048);                                  // text_config wins
    EXPECT_EQ(*c.get_int_list("eos_token_id"), (std::vector<int64_t>{1, 106}));  // top level
    EXPECT_DOUBLE_EQ(*c.get_double("final_logit_softcapping"), 30.0);
    EXPECT_EQ(c.model_type(), "gemma3n");                    // the checkpoint's identity
    EXPECT_EQ(*c.get_string("model_type"), "gemma3n_text");  // the text model's
    EXPECT_EQ(c.architectures(), (std::vector<std::string>{"Gemma3nForConditionalGeneration"}));
    // A null in text_config hides the top-level value: text_config is authoritative.
    EXPECT_FALSE(c.has("vocab_size"));
    EXPECT_THAT(c.get_int("bad").status().message(),
                HasSubstr("'text_config.bad' must be an integer"));
}

TEST(HfConfig, LoadFromFolderAndErrors) {
    testing::TempDir dir;
    EXPECT_EQ(HfConfig::load(dir.path()).status().code(), StatusCode::kNotFound);
    testing::write_file(dir.file("config.json"), std::string(kFlat));
    auto c = HfConfig::load(dir.path());
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->source(), dir.file("config.json"));
    EXPECT_EQ(*c->get_int("hidden_size"), 64);
    EXPECT_TRUE(HfConfig::load(dir.file("config.json")).ok());

    testing::write_file(dir.file("bad.json"), std::string("{\"a\": }"));
    auto bad = HfConfig::load(dir.file("bad.json"));
    EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(bad.status().message(), HasSubstr("is not valid JSON"));
    EXPECT_THAT(HfConfig::parse("[1]").status().message(), HasSubstr("expected a JSON object"));
    EXPECT_THAT(HfConfig::parse(std::string(1000, '[')).status().message(),
                HasSubstr("nests deeper"));
}

// ---------------------------------------------------------------------------------------
// RoPE

TEST(HfConfigRope, OlderPlainTheta) {
    HfConfig c = parse_ok(R"({"rope_theta": 10000.0, "rope_scaling": null})");
    RopeParams p = *c.rope_params("");
    EXPECT_DOUBLE_EQ(p.theta, 10000.0);
    EXPECT_EQ(p.type, "default");
    EXPECT_DOUBLE_EQ(p.factor, 1.0);
    EXPECT_DOUBLE_EQ(c.rope_params("full_attention")->theta, 10000.0);
    // No sliding base: the model decides the default.
    EXPECT_FALSE(c.find_rope_params("sliding_attention")->has_value());
    auto r = c.rope_params("sliding_attention");
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(r.status().message(),
                HasSubstr("no RoPE parameters for 'sliding_attention' layers"));
}

TEST(HfConfigRope, OlderLlama3Scaling) {
    HfConfig c =
        parse_ok(R"({"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})");
    RopeParams p = *c.rope_params("");
    EXPECT_DOUBLE_EQ(p.theta, 500000.0);
    EXPECT_EQ(p.type, "llama3");
    EXPECT_DOUBLE_EQ(p.factor, 8.0);
    EXPECT_DOUBLE_EQ(p.low_freq_factor, 1.0);
    EXPECT_DOUBLE_EQ(p.high_freq_factor, 4.0);
    EXPECT_EQ(p.original_max_position_embeddings, 8192);
}

TEST(HfConfigRope, OlderTypeSpelling) {
    HfConfig c =
        parse_ok(R"({"rope_theta": 10000, "rope_scaling": {"type": "linear", "factor": 2}})");
    RopeParams p = *c.rope_params("");
    EXPECT_EQ(p.type, "linear");
    EXPECT_DOUBLE_EQ(p.factor, 2.0);
}

TEST(HfConfigRope, OlderGemma3WithLocalBase) {
    // Gemma 3 4B as written by transformers 4.5x: scaling applies to global layers only.
    HfConfig c =
        parse_ok(R"({"text_config": {"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0}}})");
    RopeParams full = *c.rope_params("full_attention");
    EXPECT_DOUBLE_EQ(full.theta, 1e6);
    EXPECT_EQ(full.type, "linear");
    EXPECT_DOUBLE_EQ(full.factor, 8.0);
    RopeParams sliding = *c.rope_params("sliding_attention");
    EXPECT_DOUBLE_EQ(sliding.theta, 1e4);
    EXPECT_EQ(sliding.type, "default");
    EXPECT_DOUBLE_EQ(sliding.factor, 1.0);
}

TEST(HfConfigRope, NothingSaid) {
    HfConfig c = parse_ok(R"({"hidden_size": 8})");
    EXPECT_FALSE(c.find_rope_params("")->has_value());
    EXPECT_FALSE(c.find_rope_params("full_attention")->has_value());
}

TEST(HfConfigRope, V5SingleDict) {
    HfConfig c = parse_ok(
        R"({"rope_parameters": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
        "original_max_position_embeddings": 64, "rope_theta": 500000.0, "rope_type": "llama3"}})");
    for (const char* layer : {"", "full_attention", "sliding_attention"}) {
        RopeParams p = *c.rope_params(layer);
        EXPECT_DOUBLE_EQ(p.theta, 500000.0);
        EXPECT_EQ(p.type, "llama3");
        EXPECT_DOUBLE_EQ(p.factor, 8.0);
        EXPECT_EQ(p.original_max_position_embeddings, 64);
    }
}

TEST(HfConfigRope, V5KeyedByLayerType) {
    HfConfig c = parse_ok(R"({"rope_parameters": {
        "full_attention": {"rope_theta": 1000000.0, "rope_type": "linear", "factor": 8.0},
        "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}}})");
    RopeParams full = *c.rope_params("full_attention");
    EXPECT_DOUBLE_EQ(full.theta, 1e6);
    EXPECT_EQ(full.type, "linear");
    EXPECT_DOUBLE_EQ(full.factor, 8.0);
    EXPECT_DOUBLE_EQ(c.rope_params("")->theta, 1e6);  // "" means the global layers
    RopeParams sliding = *c.rope_params("sliding_attention");
    EXPECT_DOUBLE_EQ(sliding.theta, 1e4);
    EXPECT_EQ(sliding.type, "default");

    HfConfig only_full =
        parse_ok(R"({"rope_parameters": {"full_attention": {"rope_theta": 5.0}}})");
    EXPECT_FALSE(only_full.find_rope_params("sliding_attention")->has_value());
}

TEST(HfConfigRope, V5ThetaBesideParameters) {
    HfConfig c = parse_ok(R"({"rope_theta": 300.0, "rope_parameters": {"rope_type": "default"}})");
    EXPECT_DOUBLE_EQ(c.rope_params("")->theta, 300.0);
    HfConfig none = parse_ok(R"({"rope_parameters": {"rope_type": "default"}})");
    EXPECT_THAT(none.rope_params("").status().message(),
                HasSubstr("'rope_parameters' has no 'rope_theta'"));
}

TEST(HfConfigRope, MalformedValues) {
    auto msg = [](const char* text, const char* layer = "") {
        return parse_ok(text).rope_params(layer).status().message();
    };
    EXPECT_THAT(msg(R"({"rope_theta": "big"})"), HasSubstr("'rope_theta' must be a number"));
    EXPECT_THAT(msg(R"({"rope_theta": -1})"), HasSubstr("must be a positive number"));
    EXPECT_THAT(msg(R"({"rope_scaling": {"factor": 2}})"),
                HasSubstr("has 'rope_scaling' but no 'rope_theta'"));
    EXPECT_THAT(msg(R"({"rope_theta": 1, "rope_scaling": [1]})"),
                HasSubstr("'rope_scaling' must be an object"));
    EXPECT_THAT(msg(R"({"rope_theta": 1, "rope_scaling": {"factor": 0}})"),
                HasSubstr("factor' must be positive"));
    EXPECT_THAT(msg(R"({"rope_theta": 1, "rope_scaling": {"rope_type": 3}})"),
                HasSubstr("'rope_scaling.rope_type' must be a string"));
    EXPECT_THAT(msg(R"({"rope_parameters": 5})"), HasSubstr("'rope_parameters' must be an object"));
    EXPECT_THAT(msg(R"({"rope_parameters": {"full_attention": {"rope_theta": "x"}}})"),
                HasSubstr("'rope_parameters.full_attention.rope_theta' must be a number"));
    EXPECT_THAT(msg(R"({"rope_local_base_freq": "x"})", "sliding_attention"),
                HasSubstr("'rope_local_base_freq' must be a number"));
    EXPECT_THAT(
        msg(R"({"rope_theta": 1, "rope_scaling": {"original_max_position_embeddings": -5}})"),
        HasSubstr("non-negative integer"));
}

TEST(HfConfigRope, RealFixtures) {
    const std::string base = std::string(UNICORN_TEST_DATA) + "/models/";
    if (!std::filesystem::exists(base + "gemma3_tiny/config.json"))
        GTEST_SKIP() << "no fixtures in " << base;
    auto gemma = HfConfig::load(base + "gemma3_tiny");
    ASSERT_TRUE(gemma.ok()) << gemma.status().to_string();
    EXPECT_DOUBLE_EQ(gemma->rope_params("sliding_attention")->theta, 10000.0);
    EXPECT_DOUBLE_EQ(gemma->rope_params("full_attention")->theta, 1000000.0);
    EXPECT_EQ(*gemma->get_int("num_hidden_layers"), 7);
    EXPECT_EQ(gemma->get_string_list("layer_types")->size(), 7u);
    auto llama3 = HfConfig::load(base + "llama3_scaled");
    ASSERT_TRUE(llama3.ok()) << llama3.status().to_string();
    EXPECT_EQ(llama3->rope_params("")->type, "llama3");
    EXPECT_EQ(llama3->rope_params("")->original_max_position_embeddings, 64);
}

}  // namespace
}  // namespace unicorn::io
