#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace unicorn::io {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Closes the descriptor on every return path; the mapping stays valid after close.
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) return not_found("'" + path + "': no such file");
        return io_error("cannot open '" + path + "': " + errno_text(err));
    }
    FdCloser closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) return io_error("cannot stat '" + path + "': " + errno_text(errno));
    if (S_ISDIR(st.st_mode))
        return invalid_argument("'" + path + "' is a directory, expected a file");
    if (!S_ISREG(st.st_mode)) return invalid_argument("'" + path + "' is not a regular file");
    if (st.st_size == 0) return corrupt("'" + path + "' is empty (0 bytes)");

    const size_t size = static_cast<size_t>(st.st_size);
    // PROT_READ: the engine never writes weights. MAP_PRIVATE: nothing done through the
    // mapping can reach the file. (A file truncated by another process while mapped still
    // faults with SIGBUS; no portable API prevents that.)
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return io_error("cannot mmap '" + path + "': " + errno_text(errno));

    std::shared_ptr<MappedFile> f(new MappedFile());
    f->data_ = static_cast<const uint8_t*>(p);
    f->size_ = size;
    f->path_ = path;
    f->mmapped_ = true;
    return f;
}

std::shared_ptr<MappedFile> MappedFile::from_buffer(
    std::shared_ptr<const std::vector<uint8_t>> bytes, std::string name) {
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->data_ = bytes ? bytes->data() : nullptr;
    f->size_ = bytes ? bytes->size() : 0;
    f->path_ = std::move(name);
    f->buffer_ = std::move(bytes);
    return f;
}

MappedFile::~MappedFile() {
    if (mmapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace unicorn::io
