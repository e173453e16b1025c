// cli/verbs.h: the coronanet verbs; each takes the arguments after the verb and returns the
// process exit code (0 ok, 1 failed, 2 usage error). Each verb parses with its flag table
// (cli/flags.h), calls the library and writes; the work is in corona_native.
#pragma once

namespace corona::native {

int run_info(int argc, char** argv);      // coronanet info FILE...
int run_train(int argc, char** argv);     // coronanet train --data DIR --out DIR [options]
int run_evaluate(int argc, char** argv);  // coronanet evaluate --model DIR|CKPT --data DIR --split S
int run_predict(int argc, char** argv);   // coronanet predict -i IN -o OUT [--model DIR|CKPT]
int run_export(int argc, char** argv);    // coronanet export --checkpoint CKPT --out DIR --version V
int run_serve(int argc, char** argv);     // coronanet serve [--host H] [--port P] [--model DIR|CKPT]

}  // namespace corona::native
