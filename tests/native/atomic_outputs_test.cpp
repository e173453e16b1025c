// The native writers use the core's write_file_atomically / replace_file: an output that cannot be
// put in place fails with an error and leaves no temp file beside it, and a good output replaces
// the old one whole. Each case makes the final name a folder, so the last rename fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/verbs.h"
#include "corona/file_io.h"
#include "corona_native/checkpoint.h"
#include "corona_native/onnx_export.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = CORONA_FIXTURES_DIR;

fs::path fresh_dir(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("corona_atomic_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Names in `dir` that look like temp files.
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) found.push_back(e.path().string());
  }
  return found;
}

int run_args(int (*verb)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return verb(static_cast<int>(argv.size()), argv.data());
}

TEST(AtomicOutputs, OnnxExportThatCannotReplaceLeavesNoTempFile) {
  auto loaded = load_model_from_checkpoint(kFixtures + "/models/tiny/checkpoint.pt");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const fs::path dir = fresh_dir("onnx");
  fs::create_directories(dir / "model.onnx" / "occupied");  // a non-empty folder: rename must fail
  auto r = export_onnx(loaded->model, {}, (dir / "model.onnx").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("model.onnx"), std::string::npos) << r.error().message;
  EXPECT_EQ(temp_files(dir), std::vector<std::string>{});
  // Where the path is free, the export lands under its name and nothing else is left.
  ASSERT_TRUE(export_onnx(loaded->model, {}, (dir / "ok.onnx").string()).ok());
  EXPECT_TRUE(fs::is_regular_file(dir / "ok.onnx"));
  EXPECT_EQ(temp_files(dir), std::vector<std::string>{});
  fs::remove_all(dir);
}

TEST(AtomicOutputs, PredictThatCannotWriteItsReportFailsCleanly) {
  const fs::path dir = fresh_dir("predict");
  const fs::path out = dir / "out";
  fs::create_directories(out / "tr_im_0032.json" / "occupied");
  const std::string in = kFixtures + "/medseg/tr_im_0032.png";
  const std::string model = kFixtures + "/models/tiny/checkpoint.pt";
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_args(run_predict, {"-i", in, "-o", out.string(), "--model", model, "--threads", "1"}), 1);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("tr_im_0032.json"), std::string::npos) << err;
  EXPECT_EQ(temp_files(dir), std::vector<std::string>{});
  // The mask and overlay written before the report are whole files.
  EXPECT_TRUE(fs::is_regular_file(out / "tr_im_0032.mask.png"));
  EXPECT_TRUE(fs::is_regular_file(out / "tr_im_0032.overlay.png"));
  fs::remove_all(dir);
}

TEST(AtomicOutputs, AFailedEvaluateLeavesTheOldSummary) {
  const fs::path dir = fresh_dir("evaluate");
  const fs::path out = dir / "eval";
  fs::create_directories(out);
  ASSERT_TRUE(write_file_atomically((out / "summary.json").string(), std::string(100000, 'x')).ok());
  const std::string data = kFixtures + "/..";  // no medseg100/: evaluate fails before writing
  EXPECT_EQ(run_args(run_evaluate, {"--model", kFixtures + "/models/tiny/checkpoint.pt", "--data", data, "--split",
                                    "val", "--out", out.string(), "--threads", "1"}),
            1);
  EXPECT_EQ(fs::file_size(out / "summary.json"), 100000u);  // a failed run leaves the old one
  EXPECT_EQ(temp_files(dir), std::vector<std::string>{});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace corona::native
