// Internal to the Dockerfile parser: one logical line (continuations joined) with the map from
// its bytes back to file positions, and the step that turns it into an Instruction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "build/dockerfile.h"

namespace berth::build::detail {

// A logical line: the joined text and, for each physical piece, where it came from.
struct LogicalLine {
  struct Piece {
    size_t offset;  // in text
    int line;
    int column;     // of the piece's first byte
  };
  std::string text;
  std::vector<Piece> pieces;
  std::string_view file;  // for error messages

  Position pos_at(size_t offset) const;
  // InvalidArgument "FILE:LINE:COL: message" at `offset`.
  Error error_at(size_t offset, std::string_view message) const;
};

// Splits the keyword, flags and arguments of line.text[begin...) into an Instruction (no
// heredocs, comments or end position). `nested` is set for ONBUILD's trigger, which may name an
// instruction Docker only checks when the trigger runs.
Result<Instruction> parse_instruction_text(const LogicalLine& line, size_t begin, char escape, bool nested);

// The heredocs a logical line opens, in order, without their content (BuildKit's
// heredocsFromLine). Errors only for a delimiter word the lexer cannot read.
Result<std::vector<Heredoc>> heredocs_in_line(const LogicalLine& line);

// Parses one word like "<<EOF", "<<-'EOF'", "3<<EOF" into a heredoc (no content); false when
// the word is not a heredoc.
Result<bool> parse_heredoc_word(std::string_view word, Heredoc& out);

}  // namespace berth::build::detail
