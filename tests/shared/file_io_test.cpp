// Tests for corona/file_io.h: round trip, size limit, missing files.
#include "corona/file_io.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <string>

namespace corona {
namespace {

TEST(FileIo, WriteThenReadGivesTheSameBytes) {
  const std::string path = ::testing::TempDir() + "corona_file_io_roundtrip.bin";
  std::vector<std::uint8_t> bytes(70000);  // more than one 64 KiB read chunk
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  ASSERT_TRUE(write_file_bytes(path, bytes).ok());
  auto read = read_file_bytes(path, bytes.size());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, bytes);
}

TEST(FileIo, RefusesFilesOverTheLimit) {
  const std::string path = ::testing::TempDir() + "corona_file_io_limit.bin";
  ASSERT_TRUE(write_file_bytes(path, std::vector<std::uint8_t>(1001, 1)).ok());
  auto read = read_file_bytes(path, 1000);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("larger than 1000 bytes"), std::string::npos) << read.error().message;
}

TEST(FileIo, MissingFileAndUnwritablePathNameTheFile) {
  auto read = read_file_bytes("/nonexistent-dir/x.nii", 10);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("/nonexistent-dir/x.nii"), std::string::npos);
  auto wrote = write_file_bytes("/nonexistent-dir/y.png", {1, 2, 3});
  ASSERT_FALSE(wrote.ok());
  EXPECT_NE(wrote.error().message.find("/nonexistent-dir/y.png"), std::string::npos);
}

bool exists(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f != nullptr) std::fclose(f);
  return f != nullptr;
}

TEST(FileIoAtomic, ReplacesTheFileAndLeavesNoTemp) {
  const std::string path = ::testing::TempDir() + "corona_atomic.json";
  ASSERT_TRUE(write_file_atomically(path, std::string("old")).ok());
  ASSERT_TRUE(write_file_atomically(path, std::string("new text")).ok());
  auto read = read_file_bytes(path, 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::string(read->begin(), read->end()), "new text");
  EXPECT_FALSE(exists(temp_path_for(path)));
}

TEST(FileIoAtomic, FailedWriteLeavesNoTempAndNamesThePath) {
  const std::string path = "/nonexistent-dir/corona_atomic.bin";
  auto w = write_file_atomically(path, std::vector<std::uint8_t>{1, 2});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find(path), std::string::npos) << w.error().message;
  EXPECT_FALSE(exists(temp_path_for(path)));
}

TEST(FileIoAtomic, FailedRenameRemovesTheTempAndKeepsTheTarget) {
  // The target is a non-empty folder: rename(2) cannot replace it with a file.
  const std::string dir = ::testing::TempDir() + "corona_atomic_target_dir";
  ::mkdir(dir.c_str(), 0755);  // may exist from an earlier run
  ASSERT_TRUE(write_file_bytes(dir + "/keep", {1}).ok());
  auto w = write_file_atomically(dir, std::string("bytes"));
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find(dir), std::string::npos) << w.error().message;
  EXPECT_FALSE(exists(temp_path_for(dir)));
  EXPECT_TRUE(exists(dir + "/keep"));
}

TEST(FileIoAtomic, ReplaceFileMovesAWriterOwnTemp) {
  const std::string path = ::testing::TempDir() + "corona_replace.bin";
  const std::string tmp = path + ".mine";
  ASSERT_TRUE(write_file_bytes(tmp, {9, 8, 7}).ok());
  ASSERT_TRUE(replace_file(tmp, path).ok());
  EXPECT_FALSE(exists(tmp));
  auto read = read_file_bytes(path, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, (std::vector<std::uint8_t>{9, 8, 7}));
  auto missing = replace_file(tmp, path);  // the temp is gone: an error, the target untouched
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(exists(path));
}

}  // namespace
}  // namespace corona
