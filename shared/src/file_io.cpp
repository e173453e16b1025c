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

std::string temp_path_for(const std::string& path) { return path + ".tmp"; }

Expected<bool> replace_file(const std::string& tmp_path, const std::string& path) {
  if (std::rename(tmp_path.c_str(), path.c_str()) != 0) {
    std::remove(tmp_path.c_str());
    return make_error("cannot replace " + path + " (rename from " + tmp_path + " failed)");
  }
  return true;
}

Expected<bool> write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  const std::string tmp = temp_path_for(path);
  if (auto w = write_file_bytes(tmp, bytes); !w) {
    std::remove(tmp.c_str());
    return make_error("cannot write " + path + ": " + w.error().message);
  }
  return replace_file(tmp, path);
}

Expected<bool> write_file_atomically(const std::string& path, const std::string& text) {
  return write_file_atomically(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

}  // namespace corona
