// corona/file_io.h: whole-file reads and writes with a size limit and messages that name the
// file; the one place where the core touches the file system (the browser passes buffers instead).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "corona/image.h"

namespace corona {

// Reads the whole file. Files larger than max_bytes are refused before they are read in full,
// so a huge file cannot exhaust memory. Reads in chunks: no ftell (a long is 32 bits in wasm32).
Expected<std::vector<std::uint8_t>> read_file_bytes(const std::string& path, std::uint64_t max_bytes);

// Writes (truncates) the file; an error if it cannot be created or fully written.
Expected<bool> write_file_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);

// Every output a user keeps is written through these two, so that a crash, a full disk or a
// failed rename never leaves a half-written file under the final name nor a stray temp file.
// The temp file for `path` is temp_path_for(path) (path + ".tmp", in the same folder, so the
// rename stays on one file system).
std::string temp_path_for(const std::string& path);
// Writes temp_path_for(path), then replace_file onto path. On any failure the temp file is
// removed and path keeps its previous content (or stays absent).
Expected<bool> write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes);
Expected<bool> write_file_atomically(const std::string& path, const std::string& text);
// For writers that produce the temp file themselves (a LibTorch archive, an ONNX file the checker
// reads back first): renames tmp_path onto path, replacing it; on failure removes tmp_path.
Expected<bool> replace_file(const std::string& tmp_path, const std::string& path);

}  // namespace corona
