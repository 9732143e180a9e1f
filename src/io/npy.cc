#include "io/npy.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace unicorn::io {

Status write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                     const float* data) {
    std::string dims;
    int64_t n = 1;
    for (int64_t d : shape) {
        dims += std::to_string(d) + ",";
        n *= d;
    }
    if (shape.size() > 1) dims.pop_back();  // "(7, 512)" but "(7,)" for one dimension
    std::string header =
        fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
    // Magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    const std::string tmp = path + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    const char magic[] = "\x93NUMPY\x01\x00";
    out.write(magic, 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(len_bytes, 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(float)));
    out.close();
    if (!out) {
        std::remove(tmp.c_str());
        return io_error(fmt::format("writing '{}' failed", path));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return io_error(fmt::format("cannot rename to '{}': {}", path, std::strerror(errno)));
    }
    return ok_status();
}

Result<NpyArray> read_npy_f32(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return not_found(fmt::format("cannot open '{}'", path));
    char head[10];
    in.read(head, 10);
    if (!in || std::memcmp(head, "\x93NUMPY", 6) != 0) return corrupt(path + ": not a .npy file");
    if (head[6] != 1) return unsupported(path + ": only .npy format version 1.0 is supported");
    const size_t hlen =
        static_cast<uint8_t>(head[8]) | (static_cast<size_t>(static_cast<uint8_t>(head[9])) << 8);
    std::string header(hlen, '\0');
    in.read(header.data(), static_cast<std::streamsize>(hlen));
    if (!in) return corrupt(path + ": truncated header");
    if (header.find("'descr': '<f4'") == std::string::npos)
        return unsupported(path + ": only little-endian float32 arrays are supported");
    if (header.find("'fortran_order': False") == std::string::npos)
        return unsupported(path + ": Fortran-order arrays are not supported");
    const size_t open = header.find("'shape': (");
    const size_t close = header.find(')', open);
    if (open == std::string::npos || close == std::string::npos)
        return corrupt(path + ": no shape in header");
    NpyArray a;
    std::stringstream ss(header.substr(open + 10, close - open - 10));
    std::string item;
    int64_t n = 1;
    while (std::getline(ss, item, ',')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        const int64_t d = std::stoll(item);
        if (d < 0 || d > (int64_t{1} << 40)) return corrupt(path + ": bad dimension");
        a.shape.push_back(d);
        n *= d;
    }
    a.data.resize(static_cast<size_t>(n));
    in.read(reinterpret_cast<char*>(a.data.data()),
            static_cast<std::streamsize>(n * sizeof(float)));
    if (!in) return corrupt(path + ": truncated data");
    return a;
}

}  // namespace unicorn::io
