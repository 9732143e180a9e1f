// Where Unicorn keeps downloads (models, tokenizer vectors, the llama.cpp peer):
// $UNICORN_CACHE, else ~/.cache/unicorn — the same rule the scripts in scripts/ follow.
#pragma once

#include <string>

namespace unicorn {

std::string cache_dir();
// cache_dir() + "/models/" + file: where scripts/fetch-models puts a model.
std::string cached_model_path(const std::string& file);

}  // namespace unicorn
