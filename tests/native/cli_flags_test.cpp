// Tests for cli/flags.h (the flag table, its parser and the usage it prints), the verbs' tables
// and corona_native/device.h. Expected texts and messages are written out by hand.
#include "cli/flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <torch/cuda.h>

#include "cli/verbs.h"
#include "corona_native/device.h"

namespace corona::native {
namespace {

// A small verb: one required flag with a short form and an alias, a number, a choice, a switch.
struct Toy {
  std::string in;
  int n = 3;
  std::string mode = "fast";
  bool verbose = false;
};

Command toy_command(Toy& t) {
  Command c;
  c.verb = "toy";
  c.synopsis = "-i IN [options]";
  c.flags = {
      {{"-i", "--input", "--source"}, "IN", "what to read", "", set_text(t.in), true},
      {{"--n"}, "N", "how many", shown(static_cast<long long>(t.n)), set_int(t.n, 1, 9)},
      {{"--mode"}, "fast|slow", "first line\nsecond line", t.mode, set_choice(t.mode, {"fast", "slow"})},
      {{"--verbose"}, "", "say more", "", set_switch(t.verbose, true)},
  };
  c.epilogue = "Toy epilogue.\n";
  return c;
}

TEST(CliFlags, UsageIsGeneratedFromTheTable) {
  Toy t;
  // Help at column 26; defaults from the table; aliases named last; '\n' indents under the first.
  const std::string expected =
      "usage: coronanet toy -i IN [options]\n"
      "  -i, --input IN          what to read; --source is an alias\n"
      "  --n N                   how many (default 3)\n"
      "  --mode fast|slow        first line\n"
      "                          second line (default fast)\n"
      "  --verbose               say more\n"
      "Toy epilogue.\n";
  EXPECT_EQ(usage_text(toy_command(t)), expected);
}

TEST(CliFlags, ParseOutcomesTable) {
  using K = ParseOutcome::Kind;
  struct Row {
    std::vector<std::string> args;
    K kind;
    std::string message;
  };
  const Row rows[] = {
      {{"-i", "a"}, K::kRun, ""},
      {{"--source", "a", "--n", "9", "--mode", "slow", "--verbose"}, K::kRun, ""},
      {{"-h"}, K::kHelp, ""},
      {{"-i", "a", "--help", "--bogus"}, K::kHelp, ""},  // help wins over what follows
      {{"--bogus", "-i", "a"}, K::kUsageError, "unknown option '--bogus'"},
      {{"-i"}, K::kUsageError, "-i needs a value"},
      {{"-i", "a", "extra"}, K::kUsageError, "unexpected argument 'extra'"},
      {{"--n", "2"}, K::kUsageError, "-i IN is required"},
      {{"-i", ""}, K::kUsageError, "-i IN is required"},
      {{"-i", "a", "--n", "10"}, K::kUsageError, "bad value '10' for --n: expected an integer 1..9"},
      {{"-i", "a", "--n", "2x"}, K::kUsageError, "bad value '2x' for --n: expected an integer 1..9"},
      {{"-i", "a", "--mode", "medium"}, K::kUsageError, "bad value 'medium' for --mode: expected fast or slow"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(::testing::PrintToString(r.args));
    Toy t;
    const ParseOutcome o = parse_flags(toy_command(t), r.args);
    EXPECT_EQ(o.kind, r.kind);
    EXPECT_EQ(o.message, r.message);
  }
}

TEST(CliFlags, SettersStoreTheValues) {
  Toy t;
  ASSERT_EQ(parse_flags(toy_command(t), {"--input", "x.png", "--n", "7", "--mode", "slow", "--verbose"}).kind,
            ParseOutcome::Kind::kRun);
  EXPECT_EQ(t.in, "x.png");
  EXPECT_EQ(t.n, 7);
  EXPECT_EQ(t.mode, "slow");
  EXPECT_TRUE(t.verbose);
}

TEST(CliFlags, PositionalArgumentsGoToTheirSetter) {
  std::vector<std::string> files;
  Command c;
  c.verb = "list";
  c.synopsis = "FILE...";
  c.positional = append_text(files);
  ASSERT_EQ(parse_flags(c, {"a", "b"}).kind, ParseOutcome::Kind::kRun);
  EXPECT_EQ(files, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_flags(c, {"-x"}).message, "unknown option '-x'");
}

TEST(CliFlags, ShownDefaults) {
  EXPECT_EQ(shown(100LL), "100");
  EXPECT_EQ(shown(1e-3), "0.001");
  EXPECT_EQ(shown(0.5), "0.5");
  EXPECT_EQ(shown(0.0), "0");
}

int run_args(int (*verb)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return verb(static_cast<int>(argv.size()), argv.data());
}

// Each verb's --help: exit 0 and lines whose defaults come from the options structs.
TEST(CliVerbs, HelpShowsTheDefaultsOfTheOptions) {
  struct Row {
    int (*verb)(int, char**);
    std::vector<std::string> lines;
  };
  const Row rows[] = {
      {run_train,
       {"usage: coronanet train --data DIR --out DIR [options]\n",
        "  --epochs N              (default 100)\n",
        "  --lr X                  Adam learning rate (default 0.001)\n",
        "  --schedule cosine|step|constant  LR schedule (default cosine, 2 warmup epochs)\n",
        "  --threads N             CPU threads (default 0 = all cores)\n",
        "  --device auto|cpu|cuda  (default auto: CUDA when available)\n"}},
      {run_evaluate,
       {"  --model DIR|CKPT        a model folder (models/corona-net: plans.json + weights) or a checkpoint\n"
        "                          from coronanet train (best.pt / checkpoint.pt); --checkpoint is an alias\n"}},
      {run_predict,
       {"  -i, --input IN          a PNG/JPEG slice", "  --batch N               slices per forward pass for volumes (default 8)\n",
        "                          (default: the shipped models/corona-net); --checkpoint is an alias\n"}},
      {run_export, {"  --name NAME             model name (default corona-net)\n"}},
      {run_serve,
       {"  --port P                TCP port (default 8080; 0 = any free port, printed at start)\n",
        "  --max-upload-bytes N    largest request body (default 268435456 = 256 MiB)\n",
        "  --max-volume-bytes N    largest decoded volume, 4 bytes a voxel (default 1073741824 = 1 GiB)\n"}},
      {run_info, {"usage: coronanet info FILE...\n"}},
  };
  for (const Row& r : rows) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(run_args(r.verb, {"--help"}), 0);
    const std::string out = testing::internal::GetCapturedStdout();
    for (const std::string& line : r.lines) EXPECT_NE(out.find(line), std::string::npos) << line << "\nin:\n" << out;
  }
}

TEST(CliVerbs, UsageErrorsExitTwoAndSayWhy) {
  struct Row {
    int (*verb)(int, char**);
    std::vector<std::string> args;
    std::string message;
  };
  const Row rows[] = {
      {run_train, {"--data", "d", "--out", "o", "--epochs", "0"}, "bad value '0' for --epochs: expected a positive integer"},
      {run_train, {"--data", "d", "--out", "o", "--size", "100"}, "--size 100 must be a multiple of 2^depth = 16"},
      {run_train, {"--data", "d", "--out", "o", "--device", "gpu"}, "bad value 'gpu' for --device: expected auto, cpu or cuda"},
      {run_evaluate, {"--model", "m.pt", "--data", "d"}, "--split val|test is required"},
      {run_evaluate, {"--model", "m.pt", "--data", "d", "--split", "holdout"},
       "bad value 'holdout' for --split: expected val or test (or train, to check fitting)"},
      {run_evaluate, {"--model", "m.pt", "--data", "d", "--split", "val", "--exclude", "22,x"},
       "bad value '22,x' for --exclude: expected slice indices such as 22,48 (not 'x')"},
      {run_predict, {"-o", "out"}, "-i IN is required"},
      {run_serve, {"--port", "65536"}, "bad value '65536' for --port: expected an integer 0..65535"},
      {run_serve, {"--max-upload-bytes", "1k"}, "bad value '1k' for --max-upload-bytes: expected a byte count"},
      {run_serve, {"stray"}, "unexpected argument 'stray'"},
      {run_info, {}, "give at least one file"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.message);
    testing::internal::CaptureStderr();
    EXPECT_EQ(run_args(r.verb, r.args), 2);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find(r.message), std::string::npos) << err;
    EXPECT_NE(err.find("\n\nusage: coronanet "), std::string::npos) << err;  // the usage follows
  }
}

TEST(Device, ResolveDeviceTable) {
  auto cpu = resolve_device("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(device_name(*cpu), "cpu");
  auto automatic = resolve_device("auto");
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(device_name(*automatic), torch::cuda::is_available() ? "cuda" : "cpu");
  auto cuda = resolve_device("cuda");
  EXPECT_EQ(cuda.ok(), torch::cuda::is_available());
  if (!cuda.ok()) EXPECT_EQ(cuda.error().message, "device cuda requested but this LibTorch sees no CUDA device");
  auto bad = resolve_device("gpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "device must be auto, cpu or cuda, got \"gpu\"");
  EXPECT_EQ(device_names(), (std::vector<std::string>{"auto", "cpu", "cuda"}));
}

}  // namespace
}  // namespace corona::native
