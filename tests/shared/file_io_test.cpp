// Tests for corona/file_io.h: round trip, size limit, missing files.
#include "corona/file_io.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace corona
