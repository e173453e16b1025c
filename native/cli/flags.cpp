#include "cli/flags.h"

#include <cstdio>
#include <utility>

#include "cli/cli_util.h"
#include "corona_native/device.h"

namespace corona::native {
namespace {

constexpr std::size_t kHelpColumn = 26;  // where every flag's help starts

bool is_long_name(const std::string& name) { return name.rfind("--", 0) == 0; }

bool looks_like_flag(const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; }

const Flag* find_flag(const Command& command, const std::string& name) {
  for (const Flag& f : command.flags)
    for (const std::string& n : f.names)
      if (n == name) return &f;
  return nullptr;
}

// "a, b or c".
std::string one_of(const std::vector<std::string>& choices) {
  std::string s;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) s += i + 1 == choices.size() ? " or " : ", ";
    s += choices[i];
  }
  return s;
}

// "a|b|c": a value name that lists the choices.
std::string choices_value_name(const std::vector<std::string>& choices) {
  std::string s;
  for (const std::string& c : choices) s += (s.empty() ? "" : "|") + c;
  return s;
}

// The head of a flag's usage entry: short forms and the first long name, then the value name.
std::string flag_head(const Flag& f) {
  std::string head;
  bool long_shown = false;
  for (const std::string& n : f.names) {
    if (is_long_name(n) && long_shown) continue;
    long_shown = long_shown || is_long_name(n);
    head += (head.empty() ? "" : ", ") + n;
  }
  return f.value_name.empty() ? head : head + " " + f.value_name;
}

// "; --checkpoint is an alias" for the long names flag_head leaves out.
std::string alias_note(const Flag& f) {
  std::vector<std::string> aliases;
  bool first_long = true;
  for (const std::string& n : f.names) {
    if (!is_long_name(n)) continue;
    if (!first_long) aliases.push_back(n);
    first_long = false;
  }
  if (aliases.empty()) return "";
  return "; " + one_of(aliases) + (aliases.size() == 1 ? " is an alias" : " are aliases");
}

std::string flag_entry(const Flag& f) {
  std::string text = f.help;
  if (!f.default_shown.empty()) text += (text.empty() ? "(default " : " (default ") + f.default_shown + ")";
  text += alias_note(f);
  std::string line = "  " + flag_head(f);
  line += line.size() + 2 <= kHelpColumn ? std::string(kHelpColumn - line.size(), ' ') : "  ";
  for (char c : text) line += c == '\n' ? "\n" + std::string(kHelpColumn, ' ') : std::string(1, c);
  return line + "\n";
}

ParseOutcome usage_problem(std::string message) {
  return ParseOutcome{ParseOutcome::Kind::kUsageError, std::move(message)};
}

// What a required flag's missing message calls it: "--data DIR", "-i IN".
std::string required_name(const Flag& f) { return f.names.front() + (f.value_name.empty() ? "" : " " + f.value_name); }

}  // namespace

std::string usage_text(const Command& command) {
  std::string text = "usage: coronanet " + command.verb + " " + command.synopsis + "\n";
  for (const Flag& f : command.flags) text += flag_entry(f);
  return text + command.epilogue;
}

ParseOutcome parse_flags(const Command& command, const std::vector<std::string>& args) {
  std::vector<const Flag*> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") return ParseOutcome{ParseOutcome::Kind::kHelp, ""};
    if (!looks_like_flag(arg)) {
      if (!command.positional) return usage_problem("unexpected argument '" + arg + "'");
      if (std::string e = command.positional(arg); !e.empty()) return usage_problem(e);
      continue;
    }
    const Flag* flag = find_flag(command, arg);
    if (flag == nullptr) return usage_problem("unknown option '" + arg + "'");
    std::string value;
    if (!flag->value_name.empty()) {
      if (i + 1 >= args.size()) return usage_problem(arg + " needs a value");
      value = args[++i];
    }
    if (std::string e = flag->set(value); !e.empty())
      return usage_problem("bad value '" + value + "' for " + arg + ": " + e);
    // An empty value does not give a required flag (--data "" is as good as no --data).
    if (flag->value_name.empty() || !value.empty()) given.push_back(flag);
  }
  for (const Flag& f : command.flags) {
    if (!f.required) continue;
    bool found = false;
    for (const Flag* g : given) found = found || g == &f;
    if (!found) return usage_problem(required_name(f) + " is required");
  }
  return ParseOutcome{};
}

std::optional<int> parse_command_line(const Command& command, int argc, char** argv) {
  const ParseOutcome outcome = parse_flags(command, std::vector<std::string>(argv, argv + argc));
  switch (outcome.kind) {
    case ParseOutcome::Kind::kRun:
      return std::nullopt;
    case ParseOutcome::Kind::kHelp:
      std::fputs(usage_text(command).c_str(), stdout);
      return 0;
    case ParseOutcome::Kind::kUsageError:
      break;
  }
  return usage_error(command, outcome.message);
}

int usage_error(const Command& command, const std::string& message) {
  std::fprintf(stderr, "coronanet %s: %s\n\n%s", command.verb.c_str(), message.c_str(), usage_text(command).c_str());
  return 2;
}

// ---- setters ----------------------------------------------------------------------------------

FlagSetter set_text(std::string& out) {
  return [&out](const std::string& v) {
    out = v;
    return std::string();
  };
}

FlagSetter append_text(std::vector<std::string>& out) {
  return [&out](const std::string& v) {
    out.push_back(v);
    return std::string();
  };
}

FlagSetter set_switch(bool& out, bool value) {
  return [&out, value](const std::string&) {
    out = value;
    return std::string();
  };
}

FlagSetter set_int(int& out, long lo, long hi, std::string expected) {
  if (expected.empty()) expected = "expected an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  return [&out, lo, hi, expected](const std::string& v) { return parse_int(v, lo, hi, out) ? "" : expected; };
}

FlagSetter set_count(std::uint64_t& out, std::uint64_t lo, std::uint64_t hi, std::string expected) {
  return [&out, lo, hi, expected](const std::string& v) { return parse_count(v, lo, hi, out) ? "" : expected; };
}

FlagSetter set_number(double& out, std::function<bool(double)> accept, std::string expected) {
  return [&out, accept, expected](const std::string& v) {
    double x = 0.0;
    if (!parse_double(v, x) || !accept(x)) return expected;
    out = x;
    return std::string();
  };
}

FlagSetter set_choice(std::string& out, std::vector<std::string> choices, std::string expected) {
  if (expected.empty()) expected = "expected " + one_of(choices);
  return [&out, choices, expected](const std::string& v) {
    for (const std::string& c : choices) {
      if (c != v) continue;
      out = v;
      return std::string();
    }
    return expected;
  };
}

std::string shown(long long v) { return std::to_string(v); }

std::string shown(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// ---- shared flags -----------------------------------------------------------------------------

Flag model_flag(std::string& path, bool with_default) {
  std::string help =
      "a model folder (models/corona-net: plans.json + weights) or a checkpoint\n"
      "from coronanet train (best.pt / checkpoint.pt)";
  // The shipped model's path is found at run time (default_model_path), so it is no shown default.
  if (with_default) help += "\n(default: the shipped models/corona-net)";
  return Flag{{"--model", "--checkpoint"}, "DIR|CKPT", help, "", set_text(path), !with_default};
}

std::vector<Flag> compute_flags(int& threads, std::string& device) {
  const std::string threads_shown = threads == 0 ? "0 = all cores" : shown(static_cast<long long>(threads));
  const std::string device_shown = device == "auto" ? "auto: CUDA when available" : device;
  return {Flag{{"--threads"}, "N", "CPU threads", threads_shown, set_int(threads, 0, 1024)},
          Flag{{"--device"}, choices_value_name(device_names()), "", device_shown, set_choice(device, device_names())}};
}

Flag batch_flag(int& batch) {
  return Flag{{"--batch"}, "N", "slices per forward pass for volumes", shown(static_cast<long long>(batch)),
              set_int(batch, 1, 4096)};
}

}  // namespace corona::native
