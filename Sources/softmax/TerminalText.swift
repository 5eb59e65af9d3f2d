/// Text from data (class names, values in messages) made safe for a terminal: control
/// characters are shown as escapes (`\u{1B}`) instead of being sent, so a label cannot
/// move the cursor, recolour the screen or set the window title.
enum TerminalText {
  /// `text` with every C0 and C1 control character and DEL written as `\u{XX}`; line feeds
  /// are kept when `keepingNewlines` is set (multi-line messages).
  static func escaped(_ text: String, keepingNewlines: Bool = false) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
      if keepingNewlines && scalar == "\n" {
        result.unicodeScalars.append(scalar)
      } else if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
      } else {
        result.unicodeScalars.append(scalar)
      }
    }
    return result
  }
}
