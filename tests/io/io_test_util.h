// Helpers for io tests and the fuzz smoke driver: temporary folders, a byte builder for
// hand-made (often deliberately broken) GGUF files, and a minimal safetensors writer.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unicorn::io::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
  public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/unicorn_io_XXXXXX";
        char* p = ::mkdtemp(tmpl.data());
        path_ = p != nullptr ? p : "";
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

inline void write_file(const std::string& path, const void* data, size_t n) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}
inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    write_file(path, bytes.data(), bytes.size());
}
inline void write_file(const std::string& path, const std::string& text) {
    write_file(path, text.data(), text.size());
}

// Little-endian byte builder. GGUF fields in order: magic(), u32 version, u64 counts, then
// kv()/tensor_info() entries, pad_to(alignment), data.
class Bytes {
  public:
    Bytes& raw(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        data.insert(data.end(), b, b + n);
        return *this;
    }
    Bytes& u8(uint8_t v) { return raw(&v, 1); }
    Bytes& u32(uint32_t v) { return raw(&v, 4); }
    Bytes& u64(uint64_t v) { return raw(&v, 8); }
    Bytes& f32(float v) { return raw(&v, 4); }
    Bytes& str(const std::string& s) {
        u64(s.size());
        return raw(s.data(), s.size());
    }
    Bytes& magic() { return raw("GGUF", 4); }
    // A GGUF header: magic, version, tensor count, metadata count.
    Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
        return magic().u32(version).u64(n_tensors).u64(n_kv);
    }
    Bytes& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
    Bytes& kv_string(const std::string& key, const std::string& v) {
        return str(key).u32(8).str(v);
    }
    // Tensor info; ne in ggml order (innermost first).
    Bytes& tensor_info(const std::string& name, std::initializer_list<uint64_t> ne, uint32_t type,
                       uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(ne.size()));
        for (uint64_t n : ne) u64(n);
        return u32(type).u64(offset);
    }
    Bytes& pad_to(size_t alignment) {
        data.resize((data.size() + alignment - 1) / alignment * alignment, 0);
        return *this;
    }
    Bytes& zeros(size_t n) {
        data.resize(data.size() + n, 0);
        return *this;
    }

    std::vector<uint8_t> data;
};

// One safetensors entry; `data` must match dtype x shape unless a test wants it not to.
struct StEntry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
};

template <typename T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
    std::vector<uint8_t> out(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
    return out;
}

// A safetensors file as the reference writer lays it out: entries back to back in the given
// order, header padded with spaces to a multiple of `header_align` (8 in the reference
// library; 1 gives an unpadded header, which can misalign the data).
inline std::vector<uint8_t> make_safetensors(const std::vector<StEntry>& entries,
                                             size_t header_align = 8, bool with_metadata = true) {
    nlohmann::json header = nlohmann::json::object();
    if (with_metadata) header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const StEntry& e : entries) {
        header[e.name] = {{"dtype", e.dtype},
                          {"shape", e.shape},
                          {"data_offsets", {offset, offset + e.data.size()}}};
        offset += e.data.size();
    }
    std::string text = header.dump();
    while ((8 + text.size()) % header_align != 0) text += ' ';
    Bytes b;
    b.u64(text.size()).raw(text.data(), text.size());
    for (const StEntry& e : entries) b.raw(e.data.data(), e.data.size());
    return b.data;
}

// A safetensors file from a literal header (for malformed headers) and a data section.
inline std::vector<uint8_t> make_safetensors_raw(const std::string& header, size_t data_bytes) {
    Bytes b;
    b.u64(header.size()).raw(header.data(), header.size()).zeros(data_bytes);
    return b.data;
}

}  // namespace unicorn::io::testing
