// A Dockerfile as written: parser directives, instructions with their flags, arguments,
// heredocs and comments, each with its position. The builder and the linter share it.
// Parsing follows BuildKit's dockerfile frontend (syntax 1.x); nothing is expanded here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::build {

// A place in the Dockerfile, 1-based; column counts bytes.
struct Position {
  int line = 0;
  int column = 0;
};

// A parser directive at the top of the file: "# syntax=...", "# escape=`", "# check=...".
struct Directive {
  std::string name, value;  // name lower-cased
  Position pos;
};

// A builder flag before the arguments: "--from=builder" is {name "from", value "builder"}.
struct Flag {
  std::string name, value;  // quotes and escapes removed
  bool has_value = false;   // "--link" has none, "--link=" has an empty one
  Position pos;
};

// An inline file: `RUN <<EOF`, `COPY <<-"EOF" /dst`. content is raw (use heredoc_body).
struct Heredoc {
  std::string name;          // the delimiter word, quotes removed
  std::string content;       // every line up to the delimiter, line endings kept
  bool expand = true;        // false when any part of the delimiter was quoted
  bool strip_tabs = false;   // <<- : leading tabs are removed from each line
  int fd = 0;                // 3<<EOF gives 3; 0 when not written
  Position pos;              // of the "<<"
};

// One instruction with its continuation lines joined.
struct Instruction {
  std::string keyword;              // upper-case: "RUN"
  std::string original;             // the keyword as written: "run"
  std::string file;                 // the Dockerfile's name, for error messages
  std::vector<Flag> flags;
  bool json_form = false;           // exec form ["a", "b"]
  // JSON form: the elements. Shell form: FROM EXPOSE ADD COPY VOLUME split on whitespace;
  // ENV LABEL ARG split on unquoted whitespace with quotes kept; HEALTHCHECK its type then
  // the command (elements or one text); every other keyword the text as one element.
  std::vector<std::string> args;
  std::string text;                 // the argument text after the flags, trimmed
  std::vector<Heredoc> heredocs;
  std::vector<std::string> comments;  // comment lines directly above it, '#' and spaces trimmed
  Position start, end;              // keyword; last character of its last line (before heredocs)
  Position args_pos;                // first character of `text`
  int last_line = 0;                // last line including heredoc bodies
  std::vector<Instruction> onbuild; // ONBUILD's inner instruction (0 or 1 element)
};

// A parsed file.
struct Dockerfile {
  std::vector<Directive> directives;
  char escape = '\\';
  std::vector<Instruction> instructions;
};

// Parses a Dockerfile. Errors are InvalidArgument "NAME:LINE:COL: message", e.g.
// "Dockerfile:3:1: unknown instruction: RUNN (did you mean RUN?)". Invalid JSON in an exec
// form falls back to shell form, as Docker does; a JSON array with a non-string is an error.
Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view name = "Dockerfile");

// The heredoc's content with leading tabs removed from each line when it was written <<-.
std::string heredoc_body(const Heredoc& heredoc);

// Whether `keyword` (any case) is one of the instructions Docker knows.
bool is_known_instruction(std::string_view keyword);

}  // namespace berth::build
