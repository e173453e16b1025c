// cli/flags.h: the flag table of a coronanet verb (as llama.cpp's common/arg.cpp has it): each flag
// carries its names, value name, help, the default it shows and a setter; one parser walks argv
// through the table and one generator prints the usage from it, so help and code cannot drift.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace corona::native {

// Takes a flag's value (a switch gets ""): returns "" when taken, else what is wrong with it
// ("expected an integer 1..4096"); the parser adds "bad value 'V' for FLAG: ".
using FlagSetter = std::function<std::string(const std::string& value)>;

struct Flag {
  // {"-i", "--input"}: the short forms and the first long name head the usage line; further long
  // names are aliases, named at the end of the help ("; --checkpoint is an alias").
  std::vector<std::string> names;
  std::string value_name;     // "N", "DIR|CKPT"; empty: a switch that takes no value
  std::string help;           // each '\n' starts a line indented under the first
  std::string default_shown;  // printed as " (default X)" after the help; empty: none
  FlagSetter set;
  bool required = false;      // missing: "--data DIR is required"
};

struct Command {
  std::string verb;      // coronanet VERB
  std::string synopsis;  // the usage line after "usage: coronanet VERB "
  std::vector<Flag> flags;
  std::string epilogue;  // printed after the flag lines, as given
  // Takes each argument that is not a flag; empty: such an argument is a usage error.
  FlagSetter positional;
};

// The usage: the synopsis, one entry per flag (help at column 26), the epilogue.
std::string usage_text(const Command& command);

struct ParseOutcome {
  enum class Kind { kRun, kHelp, kUsageError };
  Kind kind = Kind::kRun;
  std::string message;  // kUsageError: what is wrong
};

// Walks args (what follows the verb) through the table, calling the setters in order; stops at
// -h / --help, an unknown option, a flag without its value, an unexpected argument, a value the
// setter refuses, or (after the walk) a required flag that was not given.
ParseOutcome parse_flags(const Command& command, const std::vector<std::string>& args);

// parse_flags on argv, then: std::nullopt when the verb should run; 0 after printing the usage
// to stdout for --help; 2 after printing the usage error (usage_error).
std::optional<int> parse_command_line(const Command& command, int argc, char** argv);

// "coronanet VERB: MESSAGE", a blank line and the usage, on stderr; returns 2, the usage exit code.
int usage_error(const Command& command, const std::string& message);

// ---- setters ----------------------------------------------------------------------------------

FlagSetter set_text(std::string& out);
FlagSetter append_text(std::vector<std::string>& out);  // repeatable flags
FlagSetter set_switch(bool& out, bool value);
// An integer in [lo, hi]; `expected` replaces the message "expected an integer LO..HI".
FlagSetter set_int(int& out, long lo, long hi, std::string expected = "");
// A count of decimal digits in [lo, hi] (byte sizes, seeds).
FlagSetter set_count(std::uint64_t& out, std::uint64_t lo, std::uint64_t hi, std::string expected);
// A finite number that `accept` agrees to.
FlagSetter set_number(double& out, std::function<bool(double)> accept, std::string expected);
// One of `choices`; `expected` replaces the message "expected a, b or c".
FlagSetter set_choice(std::string& out, std::vector<std::string> choices, std::string expected = "");

// A default as the usage shows it: integers in full, other numbers as %g (0.001, 0.5).
std::string shown(long long v);
std::string shown(double v);

// ---- flags shared by the verbs that run the network -------------------------------------------

// --model DIR|CKPT (alias --checkpoint); with_default: empty means the shipped model (the verb
// fills in default_model_path()).
Flag model_flag(std::string& path, bool with_default);
// --threads N and --device auto|cpu|cuda (device_names(); resolve_device checks the rest).
std::vector<Flag> compute_flags(int& threads, std::string& device);
// --batch N: slices per forward pass.
Flag batch_flag(int& batch);

}  // namespace corona::native
