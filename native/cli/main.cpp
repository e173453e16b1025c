// coronanet: the native command-line front-end. One binary, verbs (nnU-Net / git style); each verb
// lives in native/cli/verb_*.cpp, parses its flag table and calls corona_native.
#include <cstdio>
#include <string>

#include "cli/verbs.h"

namespace {

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage =
    "coronanet: COVID-19 lung CT analysis (research tool, not a diagnostic device)\n"
    "\n"
    "usage: coronanet <verb> [args]\n"
    "  info FILE...     sniff and decode images (NIfTI .nii/.nii.gz, PNG, JPEG) and print their\n"
    "                   geometry and intensity range as JSON, one object per file\n"
    "  train --data DIR --out DIR [options]\n"
    "                   train the segmentation + classification model (coronanet train --help)\n"
    "  evaluate --model DIR|CKPT --data DIR --split val|test [--out DIR] [--ucsd]\n"
    "                   metrics of a model on a split -> OUT/summary.json (coronanet evaluate\n"
    "                   --help); test splits are for reporting only, never for choosing a model\n"
    "  predict -i IN -o OUT [--model DIR|CKPT] [--batch N]\n"
    "                   segment a PNG/JPEG slice, a NIfTI (HU, 2D/3D) or a folder of them: masks,\n"
    "                   overlays, areas and severity (default model: models/corona-net)\n"
    "  export --checkpoint CKPT --out DIR --version V\n"
    "                   a trained checkpoint -> a model folder (weights, plans.json, data\n"
    "                   fingerprint, metrics; coronanet export --help)\n"
    "  serve [--host H] [--port P] [--model DIR|CKPT] [--web DIR]\n"
    "                   the web app and a JSON API for segmentation jobs on 127.0.0.1:8080 by\n"
    "                   default (coronanet serve --help)\n"
    "  version          print the version\n"
    "  help             this text\n";

}  // namespace

int main(int argc, char** argv) {
  const std::string verb = argc > 1 ? argv[1] : "help";
  if (verb == "info") return corona::native::run_info(argc - 2, argv + 2);
  if (verb == "train") return corona::native::run_train(argc - 2, argv + 2);
  if (verb == "evaluate") return corona::native::run_evaluate(argc - 2, argv + 2);
  if (verb == "predict") return corona::native::run_predict(argc - 2, argv + 2);
  if (verb == "export") return corona::native::run_export(argc - 2, argv + 2);
  if (verb == "serve") return corona::native::run_serve(argc - 2, argv + 2);
  if (verb == "version" || verb == "--version") {
    std::printf("coronanet %s\n", kVersion);
    return 0;
  }
  if (verb == "help" || verb == "--help" || verb == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "coronanet: unknown verb '%s'\n\n%s", verb.c_str(), kUsage);
  return 2;
}
