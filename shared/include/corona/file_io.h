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

}  // namespace corona
