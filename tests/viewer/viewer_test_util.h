// What the viewer's native tests share: fixture bytes (gzip undone, as the page does before C++
// sees a file), the shipped model folder, and hand-made network outputs.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "corona/file_io.h"
#include "viewer_state.h"

namespace corona::viewer::test {

inline std::string fixture(const std::string& name) { return std::string(CORONA_FIXTURES_DIR) + "/" + name; }
inline std::string model_file(const std::string& name) {
  return std::string(CORONA_MODELS_DIR) + "/corona-net/" + name;
}

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  auto bytes = read_file_bytes(path, std::uint64_t{64} << 20);
  EXPECT_TRUE(bytes) << path << ": " << (bytes ? "" : bytes.error().message);
  return bytes ? std::move(bytes).value() : std::vector<std::uint8_t>{};
}

inline std::string read_text(const std::string& path) {
  const std::vector<std::uint8_t> b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// The page's DecompressionStream('gzip'), for fixtures stored as .gz.
inline std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in) {
  z_stream z{};
  std::vector<std::uint8_t> out;
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return out;
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  std::uint8_t chunk[1 << 16];
  while (rc == Z_OK) {
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
  }
  inflateEnd(&z);
  EXPECT_EQ(rc, Z_STREAM_END) << "gunzip failed";
  return out;
}

inline bool open_file(ViewerState& s, FileRole role, const std::string& name, const std::vector<std::uint8_t>& b) {
  return s.open(role, name, b.data(), b.size());
}

inline bool load_shipped_model(ViewerState& s) {
  return s.set_model(read_text(model_file("plans.json")), read_text(model_file("metrics.json")),
                     read_text(model_file("training_log.jsonl")));
}

// Network logits [classes, size, size] that pick `left` for input columns x < size / 2 and `right`
// for the others, decisively (10 against 0), so the label map's boundary after the resize to the
// display size is exactly at its middle column.
inline std::vector<float> split_logits(int classes, int size, int left, int right) {
  std::vector<float> l(static_cast<std::size_t>(classes) * size * size, 0.0f);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const int c = x < size / 2 ? left : right;
      l[(static_cast<std::size_t>(c) * size + y) * size + x] = 10.0f;
    }
  }
  return l;
}

}  // namespace corona::viewer::test
