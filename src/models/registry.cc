#include "models/registry.h"

#include <fmt/format.h>

#include "io/gguf_writer.h"
#include "models/common/model_files.h"

namespace unicorn {

extern const ArchitectureEntry kLlamaArchitecture;
extern const ArchitectureEntry kGemma3Architecture;
extern const ArchitectureEntry kGemma3nArchitecture;

namespace {

const ArchitectureEntry* const kArchitectures[] = {&kLlamaArchitecture, &kGemma3Architecture,
                                                   &kGemma3nArchitecture};

Result<const ArchitectureEntry*> find_entry(const ModelFiles& f) {
    for (const ArchitectureEntry* e : kArchitectures) {
        if (f.is_gguf() && f.architecture() == e->gguf_name) return e;
        if (!f.is_gguf()) {
            for (const auto& t : e->hf_model_types)
                if (t == f.architecture()) return e;
        }
    }
    std::string known;
    for (const ArchitectureEntry* e : kArchitectures)
        known += (known.empty() ? "" : ", ") + std::string(e->gguf_name);
    return unsupported(fmt::format("{}: architecture '{}' is not supported (supported: {})",
                                   f.path(), f.architecture(), known));
}

}  // namespace

Result<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& options) {
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<ModelFiles> files, ModelFiles::open(path));
    UNI_ASSIGN_OR_RETURN(const ArchitectureEntry* e, find_entry(*files));
    if (options.matformer && std::string(e->gguf_name) != "gemma3n")
        return invalid_argument(fmt::format(
            "{}: MatFormer slicing needs a Gemma 3n model; this one is '{}'", path, e->gguf_name));
    auto m = e->load(files, options);
    if (!m.ok()) return m.status().with_context(path);
    return m;
}

Status stage_conversion(const std::string& in_dir, io::GgufWriter& w) {
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<ModelFiles> files, ModelFiles::open(in_dir));
    UNI_ASSIGN_OR_RETURN(const ArchitectureEntry* e, find_entry(*files));
    UNI_RETURN_IF_ERROR(e->export_gguf(*files, w).with_context(in_dir));
    w.set_string("general.name", "converted by unicorn");
    return ok_status();
}

Status convert_to_gguf(const std::string& in_dir, const std::string& out_path) {
    io::GgufWriter w;
    UNI_RETURN_IF_ERROR(stage_conversion(in_dir, w));
    return w.write(out_path);
}

std::vector<std::string> supported_architectures() {
    std::vector<std::string> out;
    for (const ArchitectureEntry* e : kArchitectures) out.emplace_back(e->gguf_name);
    return out;
}

}  // namespace unicorn
