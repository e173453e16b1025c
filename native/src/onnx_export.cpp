// CoronaNet -> ONNX, written node by node from the parameter names model.h documents (no tracer:
// LibTorch 1.13's C++ API has none, and a hand-written graph keeps the operator set to the few
// that ONNX Runtime Web runs on both its wasm and WebGPU execution providers).
#include "corona_native/onnx_export.h"

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <utility>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "corona/file_io.h"

namespace corona::native {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// The CAM reference
// ---------------------------------------------------------------------------------------------

namespace {

torch::Tensor find_tensor(CoronaNet& model, const std::string& name) {
  // The dictionaries are returned by value: keep them alive while find's pointer is used.
  const auto params = model->named_parameters(true);
  if (const torch::Tensor* p = params.find(name)) return *p;
  const auto buffers = model->named_buffers(true);
  if (const torch::Tensor* b = buffers.find(name)) return *b;
  throw std::logic_error("the model has no tensor \"" + name + "\" (model.h's layout changed?)");
}

}  // namespace

torch::Tensor class_activation_logits(CoronaNet& model, const torch::Tensor& features) {
  if (!model->config().classification_head) {
    throw std::logic_error("class_activation_logits: the model has no classification head");
  }
  const torch::Tensor w = find_tensor(model, "cls_head.weight");
  return (features * w.reshape({1, -1, 1, 1})).sum(1, /*keepdim=*/true);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Graph building
// ---------------------------------------------------------------------------------------------

onnx::AttributeProto ints_attr(const std::string& name, std::vector<std::int64_t> values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (std::int64_t v : values) a.add_ints(v);
  return a;
}

onnx::AttributeProto int_attr(const std::string& name, std::int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

// A dimension is a fixed size or a symbolic name.
struct Dim {
  std::int64_t value = -1;
  std::string param;
  Dim(std::int64_t v) : value(v) {}          // NOLINT(google-explicit-constructor)
  Dim(const char* p) : param(p) {}           // NOLINT(google-explicit-constructor)
};

void add_value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<Dim>& dims,
                    const std::string& doc) {
  vi->set_name(name);
  vi->set_doc_string(doc);
  onnx::TypeProto_Tensor* t = vi->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (const Dim& d : dims) {
    onnx::TensorShapeProto_Dimension* dim = t->mutable_shape()->add_dim();
    if (d.param.empty()) dim->set_dim_value(d.value);
    else dim->set_dim_param(d.param);
  }
}

// Appends nodes and initializers to one graph, in the precision of the variant being written.
class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto* graph, bool fp16) : graph_(graph), fp16_(fp16) {}

  // One node with one output; returns the output's name.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                   const std::vector<onnx::AttributeProto>& attributes = {}) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    for (const onnx::AttributeProto& a : attributes) *n->add_attribute() = a;
    ops_.insert(op);
    return output;
  }

  // A float tensor stored as float32 or float16 (raw little-endian bytes, which is what ONNX's
  // raw_data holds and what x86/ARM hosts have in memory).
  std::string initializer(const std::string& name, const torch::Tensor& value) {
    const torch::Tensor t = value.detach().to(torch::kCPU, fp16_ ? torch::kHalf : torch::kFloat32).contiguous();
    onnx::TensorProto* p = graph_->add_initializer();
    p->set_name(name);
    p->set_data_type(fp16_ ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT);
    for (std::int64_t s : t.sizes()) p->add_dims(s);
    p->set_raw_data(std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));
    return name;
  }

  // Conv with "same" padding (odd kernels only, as in the model) and optional bias.
  std::string conv(const std::string& name, const std::string& input, const torch::Tensor& weight,
                   const torch::Tensor& bias) {
    const std::int64_t k = weight.size(2);
    const std::int64_t pad = k / 2;
    std::vector<std::string> inputs = {input, initializer(name + ".weight", weight)};
    if (bias.defined()) inputs.push_back(initializer(name + ".bias", bias));
    return node("Conv", inputs, name,
                {ints_attr("kernel_shape", {k, k}), ints_attr("pads", {pad, pad, pad, pad}),
                 ints_attr("strides", {1, 1})});
  }

  // Casts between the graph's float32 borders and its internal precision (a no-op for fp32).
  std::string to_internal(const std::string& input) {
    return fp16_ ? node("Cast", {input}, input + ".fp16", {int_attr("to", onnx::TensorProto::FLOAT16)}) : input;
  }
  // Produces the graph output `output` from an internal tensor that no node consumes: a Cast for
  // fp16; for fp32 the producing node's output is renamed (no Identity node for ORT to skip).
  void to_output(const std::string& internal, const std::string& output) {
    if (fp16_) {
      node("Cast", {internal}, output, {int_attr("to", onnx::TensorProto::FLOAT)});
      return;
    }
    for (onnx::NodeProto& n : *graph_->mutable_node()) {
      for (std::string& o : *n.mutable_output()) {
        if (o == internal) o = output;
      }
    }
  }

  std::vector<std::string> op_types() const { return {ops_.begin(), ops_.end()}; }

 private:
  onnx::GraphProto* graph_;
  bool fp16_;
  std::set<std::string> ops_;
};

// Walks the model's layers (model.h's layout) and emits the matching nodes.
class CoronaNetWriter {
 public:
  CoronaNetWriter(CoronaNet& model, GraphBuilder& g) : model_(model), g_(g) {
    for (const auto& item : model->named_modules()) modules_[item.key()] = item.value();
  }

  struct Outputs {
    std::string seg_logits, cls_logit, cam;  // internal tensor names; cls/cam empty without head
  };

  Outputs write(const std::string& input) {
    const ModelConfig& c = model_->config();
    std::vector<std::string> skips;
    std::string y = input;
    for (int k = 0; k <= c.depth; ++k) {
      const std::string stage = "enc" + std::to_string(k);
      if (k > 0) {
        y = g_.node("MaxPool", {y}, stage + ".pool", {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
      }
      y = c.architecture == "resunet" ? basic_block(stage + ".block", y) : double_conv(stage, y);
      if (k < c.depth) skips.push_back(y);
    }
    Outputs out;
    if (c.classification_head) {
      out.cls_logit = classifier(y);
      out.cam = cam(y);
    }
    for (int k = c.depth - 1; k >= 0; --k) {
      const std::string up = "up" + std::to_string(k);
      y = g_.node("ConvTranspose", {y, g_.initializer(up + ".weight", tensor(up + ".weight")),
                                    g_.initializer(up + ".bias", tensor(up + ".bias"))},
                  up, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
      // Skip first, then the up-sampled path: the order torch::cat uses in forward().
      y = g_.node("Concat", {skips[static_cast<std::size_t>(k)], y}, "dec" + std::to_string(k) + ".concat",
                  {int_attr("axis", 1)});
      y = double_conv("dec" + std::to_string(k), y);
    }
    out.seg_logits = g_.conv("seg_head", y, tensor("seg_head.weight"), tensor("seg_head.bias"));
    return out;
  }

 private:
  torch::Tensor tensor(const std::string& name) { return find_tensor(model_, name); }

  const torch::nn::BatchNorm2dImpl& batchnorm(const std::string& name) {
    auto it = modules_.find(name);
    const auto* bn = it == modules_.end() ? nullptr : dynamic_cast<const torch::nn::BatchNorm2dImpl*>(it->second.get());
    if (!bn) throw std::logic_error("the model has no BatchNorm2d \"" + name + "\" (model.h's layout changed?)");
    return *bn;
  }

  // conv{i} followed by bn{i}, as one Conv (bias-free convs: the BN supplies the bias).
  std::string conv_bn(const std::string& prefix, const std::string& conv, const std::string& bn,
                      const std::string& input) {
    const FoldedConv f = fold_batchnorm(tensor(prefix + "." + conv + ".weight"), torch::Tensor(),
                                        batchnorm(prefix + "." + bn));
    return g_.conv(prefix + "." + conv, input, f.weight, f.bias);
  }

  std::string double_conv(const std::string& prefix, const std::string& input) {
    std::string y = g_.node("Relu", {conv_bn(prefix, "conv1", "bn1", input)}, prefix + ".relu1");
    return g_.node("Relu", {conv_bn(prefix, "conv2", "bn2", y)}, prefix + ".relu2");
  }

  std::string basic_block(const std::string& prefix, const std::string& input) {
    std::string y = g_.node("Relu", {conv_bn(prefix, "conv1", "bn1", input)}, prefix + ".relu1");
    y = conv_bn(prefix, "conv2", "bn2", y);
    const bool projected = modules_.count(prefix + ".proj_conv") > 0;
    const std::string shortcut = projected ? conv_bn(prefix, "proj_conv", "proj_bn", input) : input;
    return g_.node("Relu", {g_.node("Add", {y, shortcut}, prefix + ".add")}, prefix + ".relu");
  }

  // Global average pooling then the Linear layer as Gemm (weight [1, C], transposed): [N, 1].
  std::string classifier(const std::string& features) {
    const std::string pooled = g_.node("GlobalAveragePool", {features}, "cls_head.pool");
    const std::string flat = g_.node("Flatten", {pooled}, "cls_head.flatten", {int_attr("axis", 1)});
    return g_.node("Gemm",
                   {flat, g_.initializer("cls_head.weight", tensor("cls_head.weight")),
                    g_.initializer("cls_head.bias", tensor("cls_head.bias"))},
                   "cls_head.gemm", {int_attr("transB", 1)});
  }

  // The CAM's raw map: the head's weights as a 1x1 convolution without bias.
  std::string cam(const std::string& features) {
    const torch::Tensor w = tensor("cls_head.weight");
    return g_.conv("cls_head.cam", features, w.reshape({1, w.size(1), 1, 1}), torch::Tensor());
  }

  CoronaNet& model_;
  GraphBuilder& g_;
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules_;
};

std::string describe_contract(const ModelConfig& c) {
  const std::string f = std::to_string(1 << c.depth);
  std::string s = "Corona-Net " + c.architecture + ". input: float32 [batch, " + std::to_string(c.in_channels) +
                  ", height, width], normalised, height and width multiples of " + f +
                  ". seg_logits: float32 [batch, " + std::to_string(c.num_classes) + ", height, width].";
  if (c.classification_head) {
    s += " cls_logit: float32 [batch, 1], logit of infected. cam: float32 [batch, 1, height/" + f + ", width/" + f +
         "], head weights x bottleneck features without bias; apply ReLU, bilinear upsampling and min-max.";
  }
  return s;
}

void add_metadata(onnx::ModelProto& m, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* p = m.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

onnx::ModelProto build_model(CoronaNet& model, const OnnxExportOptions& options, std::vector<std::string>& ops) {
  const ModelConfig& c = model->config();
  onnx::ModelProto m;
  m.set_ir_version(onnx::IR_VERSION);
  m.set_producer_name("corona-net");
  m.set_producer_version(options.producer_version);
  m.set_doc_string(describe_contract(c));
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  add_metadata(m, "architecture", c.architecture);
  add_metadata(m, "model_config", c.to_json().dump());
  add_metadata(m, "precision", options.fp16 ? "fp16" : "fp32");

  onnx::GraphProto* graph = m.mutable_graph();
  graph->set_name("corona_net");
  const std::string f = std::to_string(1 << c.depth);
  add_value_info(graph->add_input(), "input", {"batch", c.in_channels, "height", "width"},
                 "normalised slice; height and width multiples of " + f);
  add_value_info(graph->add_output(), "seg_logits", {"batch", c.num_classes, "height", "width"},
                 "segmentation logits (softmax over axis 1)");
  if (c.classification_head) {
    add_value_info(graph->add_output(), "cls_logit", {"batch", 1}, "logit of infected");
    // Symbolic names cannot say height / 2^depth; the doc string does.
    add_value_info(graph->add_output(), "cam", {"batch", 1, "cam_height", "cam_width"},
                   "class activation logits at height/" + f + " x width/" + f + ", before ReLU, no bias");
  }

  GraphBuilder g(graph, options.fp16);
  CoronaNetWriter writer(model, g);
  const CoronaNetWriter::Outputs out = writer.write(g.to_internal("input"));
  g.to_output(out.seg_logits, "seg_logits");
  if (c.classification_head) {
    g.to_output(out.cls_logit, "cls_logit");
    g.to_output(out.cam, "cam");
  }
  ops = g.op_types();
  return m;
}

// Writes the serialised model to tmp and checks that file: the checker reads it back, so what is
// checked is exactly what replace_file then puts at the final path.
Expected<bool> write_checked(const onnx::ModelProto& m, const std::string& bytes, const std::string& tmp) {
  if (auto w = write_file_bytes(tmp, std::vector<std::uint8_t>(bytes.begin(), bytes.end())); !w)
    return make_error("export_onnx: " + w.error().message + " (does the folder exist? is the disk full?)");
  try {
    onnx::checker::check_model(tmp);
    // Strict shape inference with type checks: catches a float16 tensor meeting a float32 one,
    // which the checker alone does not.
    onnx::ModelProto inferred = m;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1));
  } catch (const std::exception& e) {
    return make_error("export_onnx: the written model fails the ONNX checker: " + std::string(e.what()));
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// export_onnx
// ---------------------------------------------------------------------------------------------

Expected<std::vector<std::string>> export_onnx(CoronaNet& model, const OnnxExportOptions& options,
                                               const std::string& path) {
  if (!model) return make_error("export_onnx: the model is empty");
  if (path.empty()) return make_error("export_onnx: empty output path");
  const int max_opset = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at(onnx::ONNX_DOMAIN).second;
  if (options.opset < 13 || options.opset > max_opset) {
    return make_error("export_onnx: opset " + std::to_string(options.opset) + " is not supported (use 13.." +
                      std::to_string(max_opset) + "; 17 is what ONNX Runtime Web is tested with)");
  }
  std::vector<std::string> ops;
  onnx::ModelProto m;
  try {
    m = build_model(model, options, ops);
  } catch (const std::exception& e) {
    return make_error(std::string("export_onnx: cannot build the graph: ") + e.what());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return make_error("export_onnx: protobuf serialisation failed (model > 2 GB?)");

  const std::string tmp = temp_path_for(path);
  if (auto c = write_checked(m, bytes, tmp); !c) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return c.error();
  }
  if (auto r = replace_file(tmp, path); !r) return make_error("export_onnx: " + r.error().message);
  return ops;
}

}  // namespace corona::native
