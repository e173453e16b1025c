// Tests for corona_native/onnx_export.h: small random models (both architectures, base 4, depth 2)
// with non-trivial BatchNorm statistics are exported and read back; a small LibTorch interpreter
// of the written graph (the few operators the exporter uses) must reproduce the eval-mode forward.
// Parity with ONNX Runtime itself is tests/parity/onnx_parity.mjs (ctest parity_onnx_node).
#include "corona_native/onnx_export.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "corona_native/checkpoint.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("corona_onnx_" + name);
  fs::remove(p);
  return p.string();
}

// A base-4, depth-2 model whose BatchNorm layers are far from identity: random affine parameters
// and running statistics from a few train-mode passes over shifted, scaled noise.
CoronaNet make_model(const std::string& architecture, bool classification_head = true) {
  torch::manual_seed(11);
  ModelConfig c;
  c.architecture = architecture;
  c.base_channels = 4;
  c.depth = 2;
  c.classification_head = classification_head;
  CoronaNet model(c);
  torch::NoGradGuard no_grad;
  for (const auto& m : model->modules(/*include_self=*/false)) {
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.2);
    }
  }
  model->train();
  for (int i = 0; i < 4; ++i) model->forward(torch::randn({2, 1, 32, 32}) * 2.0 + 0.7);
  model->eval();
  return model;
}

onnx::ModelProto read_model(const std::string& path) {
  onnx::ModelProto m;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f && m.ParseFromIstream(&f)) << "cannot parse " << path;
  return m;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// ---- a LibTorch interpreter for the exported graph ---------------------------------------------

std::map<std::string, const onnx::AttributeProto*> attributes(const onnx::NodeProto& n) {
  std::map<std::string, const onnx::AttributeProto*> a;
  for (const auto& attr : n.attribute()) a[attr.name()] = &attr;
  return a;
}

std::vector<std::int64_t> ints(const onnx::NodeProto& n, const std::string& name) {
  const auto a = attributes(n);
  auto it = a.find(name);
  if (it == a.end()) return {};
  return std::vector<std::int64_t>(it->second->ints().begin(), it->second->ints().end());
}

std::int64_t int_or(const onnx::NodeProto& n, const std::string& name, std::int64_t fallback) {
  const auto a = attributes(n);
  auto it = a.find(name);
  return it == a.end() ? fallback : it->second->i();
}

torch::Tensor initializer_tensor(const onnx::TensorProto& t) {
  std::vector<std::int64_t> dims(t.dims().begin(), t.dims().end());
  const bool half = t.data_type() == onnx::TensorProto::FLOAT16;
  EXPECT_TRUE(half || t.data_type() == onnx::TensorProto::FLOAT) << t.name();
  const auto type = half ? torch::kHalf : torch::kFloat32;
  auto* data = const_cast<char*>(t.raw_data().data());
  return torch::from_blob(data, dims, type).clone().to(torch::kFloat32);
}

// Runs the graph node by node with LibTorch. In an fp16 graph every tensor is rounded to float16
// after each node (the arithmetic itself stays float32: LibTorch 1.13 has no CPU half conv), which
// is close to what a float16 runtime does.
std::map<std::string, torch::Tensor> run_graph(const onnx::ModelProto& m, const torch::Tensor& input) {
  std::map<std::string, torch::Tensor> v;
  bool fp16 = false;
  for (const auto& t : m.graph().initializer()) {
    v[t.name()] = initializer_tensor(t);
    fp16 = fp16 || t.data_type() == onnx::TensorProto::FLOAT16;
  }
  v[m.graph().input(0).name()] = input;
  using Op = std::function<torch::Tensor(const onnx::NodeProto&, std::vector<torch::Tensor>&)>;
  const std::map<std::string, Op> ops = {
      {"Conv", [](const onnx::NodeProto& n, std::vector<torch::Tensor>& x) {
         const auto p = ints(n, "pads");
         return torch::conv2d(x[0], x[1], x.size() > 2 ? x[2] : torch::Tensor(), ints(n, "strides"),
                              std::vector<std::int64_t>{p[0], p[1]});
       }},
      {"ConvTranspose", [](const onnx::NodeProto& n, std::vector<torch::Tensor>& x) {
         return torch::conv_transpose2d(x[0], x[1], x[2], ints(n, "strides"));
       }},
      {"MaxPool", [](const onnx::NodeProto& n, std::vector<torch::Tensor>& x) {
         return torch::max_pool2d(x[0], ints(n, "kernel_shape"), ints(n, "strides"));
       }},
      {"Relu", [](const onnx::NodeProto&, std::vector<torch::Tensor>& x) { return torch::relu(x[0]); }},
      {"Add", [](const onnx::NodeProto&, std::vector<torch::Tensor>& x) { return x[0] + x[1]; }},
      {"Concat", [](const onnx::NodeProto& n, std::vector<torch::Tensor>& x) {
         return torch::cat(x, int_or(n, "axis", 0));
       }},
      {"GlobalAveragePool", [](const onnx::NodeProto&, std::vector<torch::Tensor>& x) {
         return x[0].mean({2, 3}, true);
       }},
      {"Flatten", [](const onnx::NodeProto& n, std::vector<torch::Tensor>& x) {
         return x[0].flatten(int_or(n, "axis", 1));
       }},
      {"Gemm", [](const onnx::NodeProto& n, std::vector<torch::Tensor>& x) {
         const torch::Tensor b = int_or(n, "transB", 0) ? x[1].t() : x[1];
         return x[0].matmul(b) + x[2];
       }},
      {"Cast", [](const onnx::NodeProto&, std::vector<torch::Tensor>& x) { return x[0]; }},
  };
  for (const onnx::NodeProto& n : m.graph().node()) {
    std::vector<torch::Tensor> in;
    for (const std::string& name : n.input()) {
      EXPECT_TRUE(v.count(name)) << n.name() << " reads " << name << " before it is written";
      in.push_back(v[name]);
    }
    auto op = ops.find(n.op_type());
    if (op == ops.end()) {
      ADD_FAILURE() << "unexpected operator " << n.op_type();
      return {};
    }
    torch::Tensor y = op->second(n, in);
    const bool to_float32 = n.op_type() == "Cast" && int_or(n, "to", 0) == onnx::TensorProto::FLOAT;
    if (fp16 && !to_float32) y = y.to(torch::kHalf).to(torch::kFloat32);
    v[n.output(0)] = y;
  }
  std::map<std::string, torch::Tensor> out;
  for (const auto& o : m.graph().output()) out[o.name()] = v[o.name()];
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

std::vector<std::string> dims_of(const onnx::ValueInfoProto& vi) {
  std::vector<std::string> d;
  for (const auto& dim : vi.type().tensor_type().shape().dim()) {
    d.push_back(dim.has_dim_param() ? dim.dim_param() : std::to_string(dim.dim_value()));
  }
  return d;
}

// ---- tests ------------------------------------------------------------------------------------

class OnnxExportArch : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxExportArch, WritesACheckedGraphWithTheContractsNamesAndNoBatchNorm) {
  CoronaNet model = make_model(GetParam());
  const std::string path = temp_path(GetParam() + ".onnx");
  auto ops = export_onnx(model, {}, path);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  std::vector<std::string> expected = {"Concat", "Conv", "ConvTranspose", "Flatten", "Gemm",
                                       "GlobalAveragePool", "MaxPool", "Relu"};
  if (GetParam() == "resunet") expected.insert(expected.begin(), "Add");
  EXPECT_EQ(*ops, expected);

  const onnx::ModelProto m = read_model(path);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), 17);
  std::set<std::string> seen;
  for (const auto& n : m.graph().node()) seen.insert(n.op_type());
  EXPECT_EQ(std::vector<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_EQ(seen.count("BatchNormalization"), 0u);

  ASSERT_EQ(m.graph().input_size(), 1);
  EXPECT_EQ(m.graph().input(0).name(), "input");
  EXPECT_EQ(dims_of(m.graph().input(0)), (std::vector<std::string>{"batch", "1", "height", "width"}));
  ASSERT_EQ(m.graph().output_size(), 3);
  EXPECT_EQ(m.graph().output(0).name(), "seg_logits");
  EXPECT_EQ(dims_of(m.graph().output(0)), (std::vector<std::string>{"batch", "4", "height", "width"}));
  EXPECT_EQ(m.graph().output(1).name(), "cls_logit");
  EXPECT_EQ(dims_of(m.graph().output(1)), (std::vector<std::string>{"batch", "1"}));
  EXPECT_EQ(m.graph().output(2).name(), "cam");
  for (const auto& vi : {m.graph().input(0), m.graph().output(0), m.graph().output(1), m.graph().output(2)}) {
    EXPECT_EQ(vi.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT) << vi.name();
  }
  for (const auto& t : m.graph().initializer()) EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT) << t.name();
}

TEST_P(OnnxExportArch, ShapeInferenceGivesTheContractsShapesForAConcreteInput) {
  CoronaNet model = make_model(GetParam());
  const std::string path = temp_path(GetParam() + "_shapes.onnx");
  ASSERT_TRUE(export_onnx(model, {}, path).ok());
  onnx::ModelProto m = read_model(path);
  // Pin the input to 3 x 1 x 64 x 96 and drop the declared output shapes: what ONNX infers must be
  // the contract's shapes (cam at 1/2^depth = 1/4).
  auto* in = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  const std::int64_t fixed[] = {3, 1, 64, 96};
  for (int i = 0; i < 4; ++i) in->mutable_dim(i)->set_dim_value(fixed[i]);
  for (auto& o : *m.mutable_graph()->mutable_output()) o.mutable_type()->mutable_tensor_type()->clear_shape();
  onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(true, 1));
  EXPECT_EQ(dims_of(m.graph().output(0)), (std::vector<std::string>{"3", "4", "64", "96"}));
  EXPECT_EQ(dims_of(m.graph().output(1)), (std::vector<std::string>{"3", "1"}));
  EXPECT_EQ(dims_of(m.graph().output(2)), (std::vector<std::string>{"3", "1", "16", "24"}));
}

TEST_P(OnnxExportArch, GraphReproducesTheEvalForward) {
  CoronaNet model = make_model(GetParam());
  const std::string path = temp_path(GetParam() + "_run.onnx");
  ASSERT_TRUE(export_onnx(model, {}, path).ok());
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 1, 64, 32});
  torch::NoGradGuard no_grad;
  const ModelOutput ref = model->forward(x);
  const auto got = run_graph(read_model(path), x);
  ASSERT_EQ(got.size(), 3u);
  // Folding reorders float32 rounding; the logits here are O(1).
  EXPECT_LE(max_abs_diff(got.at("seg_logits"), ref.seg_logits), 1e-5);
  EXPECT_LE(max_abs_diff(got.at("cls_logit"), ref.cls_logit.unsqueeze(1)), 1e-5);
  const torch::Tensor cam = class_activation_logits(model, ref.features);
  EXPECT_EQ(cam.sizes(), (std::vector<std::int64_t>{2, 1, 16, 8}));
  EXPECT_LE(max_abs_diff(got.at("cam"), cam), 1e-5);
  // The spatial mean of the cam plus the bias is the logit (why the cam leaves the bias out).
  const torch::Tensor bias = model->named_parameters()["cls_head.bias"];
  EXPECT_LE(max_abs_diff(cam.mean({2, 3}).squeeze(1) + bias, ref.cls_logit), 1e-5);
}

TEST_P(OnnxExportArch, EveryFoldedConvEqualsConvThenEvalBatchNorm) {
  CoronaNet model = make_model(GetParam());
  auto params = model->named_parameters();
  int pairs = 0;
  for (const auto& item : model->named_modules()) {
    auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(item.value().get());
    if (!bn) continue;
    // bn1 follows conv1, bn2 conv2, proj_bn proj_conv, in the same module.
    static const std::map<std::string, std::string> kConvOf = {
        {"bn1", "conv1"}, {"bn2", "conv2"}, {"proj_bn", "proj_conv"}};
    const std::string& name = item.key();
    const std::size_t dot = name.rfind('.');
    const std::string conv = name.substr(0, dot + 1) + kConvOf.at(name.substr(dot + 1));
    const torch::Tensor w = params[conv + ".weight"];
    const FoldedConv f = fold_batchnorm(w, torch::Tensor(), *bn);
    torch::manual_seed(5);
    const torch::Tensor x = torch::randn({2, w.size(1), 12, 12}) * 3.0;
    torch::NoGradGuard no_grad;
    const std::int64_t pad = w.size(2) / 2;
    const torch::Tensor ref = bn->forward(torch::conv2d(x, w, {}, 1, pad));
    EXPECT_LE(max_abs_diff(torch::conv2d(x, f.weight, f.bias, 1, pad), ref), 1e-5) << conv;
    ++pairs;
  }
  EXPECT_EQ(pairs, GetParam() == "resunet" ? 3 * 3 + 2 * 2 : 5 * 2);  // resunet: every encoder block projects
}

INSTANTIATE_TEST_SUITE_P(Architectures, OnnxExportArch, ::testing::Values("unet", "resunet"));

TEST(OnnxExport, Fp16KeepsFloat32BordersAndFollowsTheFp32Graph) {
  CoronaNet model = make_model("unet");
  const std::string p32 = temp_path("f32.onnx");
  const std::string p16 = temp_path("f16.onnx");
  ASSERT_TRUE(export_onnx(model, {}, p32).ok());
  OnnxExportOptions o;
  o.fp16 = true;
  auto ops = export_onnx(model, o, p16);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_NE(std::find(ops->begin(), ops->end(), "Cast"), ops->end());
  const onnx::ModelProto m = read_model(p16);
  for (const auto& vi : m.graph().input()) EXPECT_EQ(vi.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  for (const auto& vi : m.graph().output()) EXPECT_EQ(vi.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  for (const auto& t : m.graph().initializer()) EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT16) << t.name();
  EXPECT_EQ(m.graph().node(0).op_type(), "Cast");  // input -> float16 first
  int casts = 0;
  for (const auto& n : m.graph().node()) casts += n.op_type() == "Cast";
  EXPECT_EQ(casts, 4);  // the input and the three outputs
  EXPECT_LT(fs::file_size(p16), fs::file_size(p32) * 6 / 10);

  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({1, 1, 64, 64});
  const auto a = run_graph(read_model(p32), x);
  const auto b = run_graph(m, x);
  const double agree =
      (a.at("seg_logits").argmax(1) == b.at("seg_logits").argmax(1)).to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(agree, 0.99);
  EXPECT_LE(max_abs_diff(a.at("cls_logit"), b.at("cls_logit")), 2e-2);
}

TEST(OnnxExport, WithoutClassificationHeadOnlySegLogits) {
  CoronaNet model = make_model("unet", /*classification_head=*/false);
  const std::string path = temp_path("nohead.onnx");
  auto ops = export_onnx(model, {}, path);
  ASSERT_TRUE(ops.ok()) << ops.error().message;
  EXPECT_EQ(*ops, (std::vector<std::string>{"Concat", "Conv", "ConvTranspose", "MaxPool", "Relu"}));
  const onnx::ModelProto m = read_model(path);
  ASSERT_EQ(m.graph().output_size(), 1);
  EXPECT_EQ(m.graph().output(0).name(), "seg_logits");
  EXPECT_THROW(class_activation_logits(model, torch::zeros({1, 16, 4, 4})), std::logic_error);
}

TEST(OnnxExport, ErrorsSayWhatToChange) {
  CoronaNet model = make_model("unet");
  OnnxExportOptions o;
  o.opset = 9;
  auto bad_opset = export_onnx(model, o, temp_path("opset.onnx"));
  ASSERT_FALSE(bad_opset.ok());
  EXPECT_NE(bad_opset.error().message.find("opset 9"), std::string::npos) << bad_opset.error().message;
  const std::string nowhere = temp_path("no/such/folder") + "/model.onnx";
  auto bad_path = export_onnx(model, {}, nowhere);
  ASSERT_FALSE(bad_path.ok());
  EXPECT_NE(bad_path.error().message.find(nowhere), std::string::npos) << bad_path.error().message;
  EXPECT_FALSE(export_onnx(model, {}, "").ok());
}

TEST(OnnxExport, LeavesTheModelAsItWas) {
  CoronaNet model = make_model("resunet");
  model->train();
  const torch::Tensor before = model->named_buffers()["enc1.block.bn1.running_mean"].clone();
  ASSERT_TRUE(export_onnx(model, {}, temp_path("untouched.onnx")).ok());
  EXPECT_TRUE(model->is_training());
  EXPECT_TRUE(torch::equal(model->named_buffers()["enc1.block.bn1.running_mean"], before));
}

// The committed tiny model (tests/fixtures/models/tiny) must be what today's exporter writes for
// its checkpoint; after an exporter change, regenerate it as tests/fixtures/models/tiny/README.md says.
TEST(OnnxExport, CommittedTinyModelIsTheExportOfItsCheckpoint) {
  const fs::path dir = fs::path(CORONA_FIXTURES_DIR) / "models/tiny";
  auto loaded = load_model_from_checkpoint((dir / "checkpoint.pt").string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const std::string path = temp_path("tiny.onnx");
  ASSERT_TRUE(export_onnx(loaded->model, {}, path).ok());
  EXPECT_TRUE(slurp(path) == slurp((dir / "model.onnx").string()))
      << "tests/fixtures/models/tiny/model.onnx is stale: regenerate it (see README.md there)";
}

}  // namespace
}  // namespace corona::native
