#include "corona/file_io.h"

#include <cstdio>

namespace corona {

Expected<std::vector<std::uint8_t>> read_file_bytes(const std::string& path, std::uint64_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return make_error("cannot open " + path + " for reading");
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (static_cast<std::uint64_t>(bytes.size()) + got > max_bytes) {
      std::fclose(f);
      return make_error(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return make_error("read error in " + path);
  return bytes;
}

Expected<bool> write_file_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return make_error("cannot create " + path);
  const bool wrote = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) return make_error("write error in " + path);
  return true;
}

}  // namespace corona
