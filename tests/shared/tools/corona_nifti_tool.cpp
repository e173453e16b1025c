// corona_nifti_tool: a thin CLI over corona/nifti.h so an independent implementation (nibabel, in
// tests/shared/oracles/test_nifti_nibabel.py) can check what the core reads and writes.
//
//   corona_nifti_tool dump IN.nii[.gz] OUT_PREFIX
//       writes OUT_PREFIX.json (dims, spacing, affine, header fields) and OUT_PREFIX.f32 (voxels as
//       raw little-endian float32, x fastest)
//   corona_nifti_tool write OUT.nii[.gz] SPEC.txt
//       SPEC.txt has one "key values..." per line:
//         dims NX NY NZ | affine A00 A01 ... A23 (12 or 16 numbers, row-major) | datatype N |
//         kind float|label | scl SLOPE INTER | descrip TEXT | values PATH (raw float32, x fastest)
// Exits 1 with the error message on stderr when the core refuses the input.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "corona/nifti.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "corona_nifti_tool: %s\n", message.c_str());
  return 1;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {  // bytes as latin-1 code points keep the JSON valid UTF-8
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

template <class Seq>
std::string json_array(const Seq& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + json_number(static_cast<double>(values[i]));
  return out + "]";
}

std::string header_json(const corona::NiftiImage& img) {
  const corona::VolumeF& v = img.volume;
  const corona::NiftiHeaderInfo& h = img.header;
  std::ostringstream o;
  o << "{\n  \"dims\": [" << v.nx << ", " << v.ny << ", " << v.nz << "],\n"
    << "  \"spacing\": " << json_array(v.spacing) << ",\n"
    << "  \"affine\": " << json_array(v.affine.m) << ",\n"
    << "  \"datatype\": " << h.datatype << ",\n  \"bitpix\": " << h.bitpix << ",\n"
    << "  \"scl_slope\": " << json_number(h.scl_slope) << ",\n  \"scl_inter\": " << json_number(h.scl_inter) << ",\n"
    << "  \"qform_code\": " << h.qform_code << ",\n  \"sform_code\": " << h.sform_code << ",\n"
    << "  \"xyzt_units\": " << h.xyzt_units << ",\n  \"pixdim\": " << json_array(h.pixdim) << ",\n"
    << "  \"byte_swapped\": " << (h.byte_swapped ? "true" : "false") << ",\n"
    << "  \"gzipped\": " << (h.gzipped ? "true" : "false") << ",\n"
    << "  \"descrip\": " << json_string(h.descrip) << "\n}\n";
  return o.str();
}

bool write_bytes(const std::string& path, const void* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool wrote = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && wrote;
}

int dump(const std::string& in, const std::string& prefix) {
  auto img = corona::load_nifti_from_file(in);
  if (!img) return fail(img.error().message);
  const std::string json = header_json(*img);
  // The host is little-endian (x86, wasm32), so the floats go out as they are in memory.
  const auto& voxels = img->volume.voxels;
  if (!write_bytes(prefix + ".json", json.data(), json.size()) ||
      !write_bytes(prefix + ".f32", voxels.data(), voxels.size() * sizeof(float))) {
    return fail("cannot write " + prefix + ".json / .f32");
  }
  return 0;
}

struct Spec {
  int nx = 0, ny = 0, nz = 0;
  std::vector<double> affine;
  corona::NiftiWriteOptions options;
  bool labels = false;
  std::string values_path;
};

bool parse_spec(const std::string& path, Spec* spec, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open spec " + path;
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    if (!(fields >> key)) continue;
    if (key == "dims") {
      fields >> spec->nx >> spec->ny >> spec->nz;
    } else if (key == "affine") {
      double x;
      while (fields >> x) spec->affine.push_back(x);
    } else if (key == "datatype") {
      fields >> spec->options.datatype;
    } else if (key == "kind") {
      std::string kind;
      fields >> kind;
      spec->labels = kind == "label";
    } else if (key == "scl") {
      fields >> spec->options.scl_slope >> spec->options.scl_inter;
    } else if (key == "descrip") {
      std::getline(fields >> std::ws, spec->options.descrip);
    } else if (key == "values") {
      fields >> spec->values_path;
    } else {
      *error = "unknown spec key '" + key + "' in " + path;
      return false;
    }
    if (fields.fail() && !fields.eof()) {
      *error = "bad values for '" + key + "' in " + path;
      return false;
    }
  }
  if (spec->affine.size() != 12 && spec->affine.size() != 16) {
    *error = "spec affine needs 12 or 16 numbers";
    return false;
  }
  return true;
}

template <class T>
corona::Volume<T> make_volume(const Spec& spec, const std::vector<float>& values) {
  corona::Volume<T> v;
  v.nx = spec.nx;
  v.ny = spec.ny;
  v.nz = spec.nz;
  for (std::size_t i = 0; i < 12; ++i) v.affine.m[i] = spec.affine[i];
  v.voxels.reserve(values.size());
  for (float x : values) v.voxels.push_back(static_cast<T>(x));
  return v;
}

int write(const std::string& out, const std::string& spec_path) {
  Spec spec;
  std::string error;
  if (!parse_spec(spec_path, &spec, &error)) return fail(error);
  std::ifstream in(spec.values_path, std::ios::binary);
  if (!in) return fail("cannot open values file " + spec.values_path);
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(raw.size() / sizeof(float));
  std::copy(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(values.size() * sizeof(float)),
            reinterpret_cast<char*>(values.data()));
  auto saved = spec.labels ? corona::save_nifti_to_file(out, make_volume<std::uint8_t>(spec, values), spec.options)
                           : corona::save_nifti_to_file(out, make_volume<float>(spec, values), spec.options);
  if (!saved) return fail(saved.error().message);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string verb = argc > 1 ? argv[1] : "";
  if (argc == 4 && verb == "dump") return dump(argv[2], argv[3]);
  if (argc == 4 && verb == "write") return write(argv[2], argv[3]);
  std::fprintf(stderr,
               "usage: corona_nifti_tool dump IN.nii[.gz] OUT_PREFIX\n"
               "       corona_nifti_tool write OUT.nii[.gz] SPEC.txt\n");
  return 2;
}
