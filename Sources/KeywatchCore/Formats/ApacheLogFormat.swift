/// Apache `LogFormat` strings (`%h %l %u %t "%r" %>s %b … %D`), read by translating them into the
/// equivalent nginx `log_format` for ``NginxFormat``.
///
/// Supported: `%h %a %{c}a %l %u %t %r %>s %s %<s %b %B %O %D %T %{ms}T %{us}T %{s}T %{Name}i %U %q %m
/// %H %v %V %p %P %I %X %k %L %%`. `%D` is microseconds and `%T` seconds, so latency comes out in ms
/// whatever the unit. Time formats other than plain `%t` (`%{…}t`) are refused with an explanation.
public enum ApacheLogFormat {
    /// Whether `template` looks like an Apache format (has `%` directives and no nginx `$variables`).
    public static func looksLikeApache(_ template: String) -> Bool {
        !template.contains("$") && template.contains("%")
    }

    /// The nginx `log_format` equivalent of an Apache `LogFormat` string.
    /// - Throws: ``FormatError/badLogFormat(_:reason:)`` naming the directive keywatch cannot read.
    public static func translate(_ template: String) throws(FormatError) -> String {
        var out = ""
        let chars = Array(template)
        var i = 0
        var ignored = 0
        func skipped() -> String {
            ignored += 1
            return "$apache_unused_\(ignored)"
        }
        while i < chars.count {
            let c = chars[i]
            guard c == "%" else {
                // nginx would read "$" as a variable; Apache text has none (looksLikeApache checked).
                out.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < chars.count else { throw .badLogFormat(template, reason: "it ends with a lone '%'") }
            var argument: String?
            if chars[i] == "{" {
                guard let close = chars[i...].firstIndex(of: "}") else {
                    throw .badLogFormat(template, reason: "'%{' without a closing '}'")
                }
                argument = String(chars[(i + 1)..<close])
                i = close + 1
            }
            // Status-condition and original/final modifiers: %>s, %<s, %!200r, %400,501{User-agent}i.
            while i < chars.count
                && (chars[i] == ">" || chars[i] == "<" || chars[i] == "!" || chars[i] == ","
                    || chars[i].isNumber)
            {
                i += 1
            }
            if argument == nil && i < chars.count && chars[i] == "{" {
                guard let close = chars[i...].firstIndex(of: "}") else {
                    throw .badLogFormat(template, reason: "'%{' without a closing '}'")
                }
                argument = String(chars[(i + 1)..<close])
                i = close + 1
            }
            guard i < chars.count else { throw .badLogFormat(template, reason: "it ends inside a '%' directive") }
            let directive = chars[i]
            i += 1
            switch directive {
            case "%": out += "%"
            case "h", "a": out += "$remote_addr"
            case "u": out += "$remote_user"
            case "t":
                guard argument == nil else {
                    throw .badLogFormat(
                        template,
                        reason:
                            "the time format %{\(argument!)}t is not supported; log plain %t (or use an ISO 8601 JSON format)"
                    )
                }
                out += "[$time_local]"
            case "r": out += "$request"
            case "s": out += "$status"
            case "b", "B": out += "$body_bytes_sent"
            case "O": out += "$bytes_sent"
            case "D": out += "$apache_request_time_us"
            case "T":
                switch argument {
                case nil, "s": out += "$request_time"
                case "ms": out += "$apache_request_time_ms"
                case "us": out += "$apache_request_time_us"
                default: throw .badLogFormat(template, reason: "unknown unit in %{\(argument!)}T; expected s, ms or us")
                }
            case "i":
                guard let header = argument, !header.isEmpty else {
                    throw .badLogFormat(template, reason: "%i needs a header name: %{User-Agent}i")
                }
                out += "$http_" + header.lowercased().replacingDashes()
            case "U":
                // "%U%q" is path and query with nothing between: one variable, $request_uri.
                if i + 1 < chars.count && chars[i] == "%" && chars[i + 1] == "q" {
                    out += "$request_uri"
                    i += 2
                } else {
                    out += "$uri"
                }
            case "q": out += "$apache_query"
            case "m": out += "$request_method"
            case "l", "H", "v", "V", "p", "P", "I", "X", "k", "L", "R", "f", "e", "n", "o", "C", "A", "S", "x", "M":
                out += skipped()
            default:
                throw .badLogFormat(template, reason: "unknown Apache directive %\(directive)")
            }
        }
        return out
    }
}
