#include "io/mapped_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io_test_util.h"

namespace unicorn::io {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

TEST(MappedFile, MapsContents) {
    TempDir dir;
    const std::string path = dir.file("a.bin");
    testing::write_file(path, std::string("hello, mmap"));
    auto f = MappedFile::open(path);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ((*f)->size(), 11u);
    EXPECT_EQ((*f)->path(), path);
    EXPECT_EQ(std::memcmp((*f)->data(), "hello, mmap", 11), 0);
    // The mapping survives the file's removal (it is the inode that is mapped).
    std::filesystem::remove(path);
    EXPECT_EQ((*f)->data()[0], 'h');
}

TEST(MappedFile, MissingFileIsNotFound) {
    auto f = MappedFile::open("/nonexistent/unicorn/file.gguf");
    EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(f.status().message(), HasSubstr("no such file"));
    EXPECT_THAT(f.status().message(), HasSubstr("/nonexistent/unicorn/file.gguf"));
}

TEST(MappedFile, DirectoryIsInvalidArgument) {
    TempDir dir;
    auto f = MappedFile::open(dir.path());
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("is a directory"));
}

TEST(MappedFile, EmptyFileIsCorrupt) {
    TempDir dir;
    const std::string path = dir.file("empty");
    testing::write_file(path, std::string());
    auto f = MappedFile::open(path);
    EXPECT_EQ(f.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(f.status().message(), HasSubstr("is empty"));
}

TEST(MappedFile, UnreadableFileIsIoError) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
    TempDir dir;
    const std::string path = dir.file("secret");
    testing::write_file(path, std::string("x"));
    std::filesystem::permissions(path, std::filesystem::perms::none);
    EXPECT_EQ(MappedFile::open(path).status().code(), StatusCode::kIoError);
}

TEST(MappedFile, FromBuffer) {
    auto bytes = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{1, 2, 3});
    auto f = MappedFile::from_buffer(bytes, "buf");
    EXPECT_EQ(f->size(), 3u);
    EXPECT_EQ(f->data(), bytes->data());
    EXPECT_EQ(f->path(), "buf");
    EXPECT_EQ(MappedFile::from_buffer(nullptr)->size(), 0u);
}

}  // namespace
}  // namespace unicorn::io
