#pragma once
// Text from the network (a message, a sender's name, a topic, a reason that
// quotes either) is printed on one line of a terminal or a log. Raw, a newline
// in it forges a second line that seems to come from someone else, and an
// escape sequence or a bidirectional control rewrites what the reader sees.

#include <string>
#include <string_view>

namespace danemq::core {

/// Returns `text` made safe to print on one line: `\n`, `\r`, `\t` and `\\`
/// for newline, carriage return, tab and backslash; `\xhh` for every other C0
/// control, DEL and every byte that is not part of valid UTF-8; `\u{hhhh}` for
/// the C1 controls, U+2028/U+2029 and the bidirectional controls (U+061C,
/// U+200E/F, U+202A-202E, U+2066-2069). Everything else is copied unchanged,
/// so printable text, in any script, reads as sent. Hex digits are lower case.
[[nodiscard]] std::string escape_for_display(std::string_view text);

}  // namespace danemq::core
