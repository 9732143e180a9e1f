// unicorn: command-line entry point. Subcommands live in cmd_*.cc.
#include <cstdio>
#include <exception>
#include <map>

#include "commands.h"

int main(int argc, char** argv) {
    CLI::App app{"Unicorn — fast, exact local inference for Gemma 3n, Gemma 3 and Llama models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "unicorn 0.1.0");
    std::map<CLI::App*, unicorn::cli::Runner> runners;
    auto add = [&](const char* name, const char* help, unicorn::cli::Runner (*reg)(CLI::App&)) {
        CLI::App* sub = app.add_subcommand(name, help);
        runners[sub] = reg(*sub);
    };
    add("run", "Generate text from a prompt (streams to stdout; stats on stderr)",
        unicorn::cli::add_run);
    add("chat", "Interactive chat with the model's chat template", unicorn::cli::add_chat);
    add("serve", "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, …)",
        unicorn::cli::add_serve);
    add("logits",
        "Teacher-forced logits for given token ids (NumPy .npy), optional greedy continuation",
        unicorn::cli::add_logits);
    add("info", "Architecture, hyperparameters, tensor types and memory needs of a model",
        unicorn::cli::add_info);
    add("devices",
        "Processors Unicorn can use (CPU ISA level and cores; GPUs once their backends exist)",
        unicorn::cli::add_devices);
    add("bench", "Throughput like llama-bench: pp N and tg N tokens/s, mean ± sd over repetitions",
        unicorn::cli::add_bench);
    add("eval",
        "Perplexity like llama-perplexity; KL divergence against saved base logits; importance "
        "matrix",
        unicorn::cli::add_eval);
    add("convert", "Convert a Hugging Face directory (safetensors) to GGUF in llama.cpp's layout",
        unicorn::cli::add_convert);
    add("quantize",
        "Quantize a GGUF or Hugging Face model to a GGUF with llama.cpp's per-tensor type mixes",
        unicorn::cli::add_quantize);
    // Usage errors read like every other error: one "unicorn: error:" line, exit code 2.
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
        return "unicorn: error: " + std::string(e.what()) + " (see --help)\n";
    });
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    for (auto& [sub, run] : runners) {
        if (sub->parsed()) {
            try {
                return run();
            } catch (const std::bad_alloc&) {
                return unicorn::cli::fail("out of memory");
            } catch (const std::exception& e) {
                return unicorn::cli::fail(e.what());
            }
        }
    }
    return 1;
}
