/// A JSON value whose objects keep insertion order, so output is byte-stable.
indirect enum JSONValue: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// A double rounded to `places` decimals.
    static func rounded(_ value: Double, places: Int = 3) -> JSONValue {
        var factor = 1.0
        for _ in 0..<places {
            factor *= 10
        }
        return .double((value * factor).rounded() / factor)
    }

    /// An array of strings.
    static func strings(_ values: [String]) -> JSONValue {
        .array(values.map { .string($0) })
    }

    /// Pretty-printed text with two-space indentation.
    func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        let inner = String(repeating: "  ", count: indent + 1)
        switch self {
        case .string(let text):
            return JSONValue.quoted(text)
        case .int(let value):
            return String(value)
        case .double(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value):
            return value ? "true" : "false"
        case .null:
            return "null"
        case .array(let values):
            if values.isEmpty {
                return "[]"
            }
            if values.allSatisfy(\.isScalar) {
                return "[" + values.map { $0.rendered() }.joined(separator: ", ") + "]"
            }
            return "[\n" + values.map { inner + $0.rendered(indent: indent + 1) }.joined(separator: ",\n")
                + "\n" + pad + "]"
        case .object(let members):
            if members.isEmpty {
                return "{}"
            }
            return "{\n"
                + members.map { inner + JSONValue.quoted($0.0) + ": " + $0.1.rendered(indent: indent + 1) }
                .joined(separator: ",\n") + "\n" + pad + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        JSONEscaping.append(text, to: &out, escapeSlash: false)
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON string escaping shared by labels and Kong lines.
enum JSONEscaping {
    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends the escaped body of a JSON string (without quotes).
    /// - Parameters:
    ///   - text: Text to escape.
    ///   - out: Output buffer.
    ///   - escapeSlash: Whether to write `/` as `\/`, as lua-cjson (and so Kong) does.
    static func append(_ text: String, to out: inout [UInt8], escapeSlash: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case UInt8(ascii: "/") where escapeSlash:
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x0A:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
    }
}
