extension Unicode.Scalar {
    /// A C0 or C1 control character, or DEL: what hanfs never passes on raw
    /// (a NUL cuts a C string short, an ESC drives a terminal).
    public var isControlCharacter: Bool { properties.generalCategory == .control }
}

extension String {
    /// The text with each control character (C0, DEL, C1: a raw ESC that
    /// would drive a terminal, a CR that would hide a log line's start)
    /// shown as `\u{1b}`; a tab stays: for log lines and messages, whose
    /// text can come from a file, a client or a command's output.
    public var escapingControlCharacters: String {
        let isControl = { (s: Unicode.Scalar) in s != "\t" && s.isControlCharacter }
        guard unicodeScalars.contains(where: isControl) else { return self }
        var escaped = ""
        for s in unicodeScalars {
            if isControl(s) {
                escaped += "\\u{\(String(s.value, radix: 16))}"
            } else {
                escaped.unicodeScalars.append(s)
            }
        }
        return escaped
    }
}
