import Testing

@testable import KeywatchCore

@Suite("JSON scanner")
struct JSONScannerTests {
    /// Scans `line` and returns, per object, the value at each path as a string (`nil` when missing).
    func scan(_ paths: [String], _ line: String) -> (JSONScanResult, [[String?]]) {
        var scanner = JSONScanner(table: JSONPathTable(paths: paths))
        return GatewayFormatHarness.withView(line) { view in
            var objects: [[String?]] = []
            let result = scanner.scan(view) { values in
                objects.append((0..<values.count).map { values[$0].isEmpty ? nil : values[$0].string })
            }
            return (result, objects)
        }
    }

    @Test func nestedPathsMatchIgnoringCase() {
        let (result, objects) = scan(
            ["request.headers.user-agent", "Response.Status", "started_at"],
            #"{"Request":{"HEADERS":{"User-Agent":"curl/8.5.0"}},"response":{"status":200},"started_at":1}"#
        )
        #expect(result == .objects(1))
        #expect(objects == [["curl/8.5.0", "200", "1"]])
    }

    @Test func flatDottedKeysMatchNestedPaths() {
        let (_, objects) = scan(
            ["http.request.method", "url.path"],
            #"{"http.request.method":"PATCH","url":{"path":"/a/b"}}"#
        )
        #expect(objects == [["PATCH", "/a/b"]])
    }

    @Test func escapedKeysMatch() {
        let (_, objects) = scan(["user-agent", "a\"b"], #"{"user\u002dAgent":"x","a\"b":"y"}"#)
        #expect(objects == [["x", "y"]])
    }

    @Test func prefixesAndSiblingsDoNotMatch() {
        let (_, objects) = scan(
            ["request.method", "req"],
            #"{"request":"GET / HTTP/1.1","requestx":{"method":"PUT"},"request2":{"method":"POST"},"re":{"q":1}}"#
        )
        #expect(objects == [[nil, nil]])
    }

    @Test func longPathsAcrossWordBoundaries() {
        let path = "abcdefghijklmnop.qrstuvwxyz0123456789.ABCDEFGH.i"
        let line = #"{"abcdefghijklmnop":{"qrstuvwxyz0123456789":{"abcdefgh":{"I":"deep"},"abcdefgH":{"j":1}}}}"#
        let (_, objects) = scan([path, "abcdefghijklmnop.qrstuvwxyz0123456789.abcdefgh.j"], line)
        // "abcdefgH" is the same key as "abcdefgh" ignoring case, so its "j" matches too.
        #expect(objects == [["deep", "1"]])
    }

    @Test func firstValueWinsAndMissingValuesDoNotCount() {
        let (_, objects) = scan(["a", "b", "c", "d"], #"{"a":"-","a":"2","b":null,"c":"","c":"x","d":true,"d":false}"#)
        #expect(objects == [["2", nil, "x", "true"]])
    }

    @Test func arraysStandForTheirFirstElement() {
        let (_, objects) = scan(
            ["h.xff", "tries.ip", "empty"],
            #"{"h":{"xff":["1.1.1.1","2.2.2.2"]},"tries":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"empty":[]}"#
        )
        #expect(objects == [["1.1.1.1", "10.0.0.1", nil]])
    }

    @Test func topLevelArrayYieldsEachObject() {
        let (result, objects) = scan(["id"], #" [ {"id":1} , {"id":"two"},{} ] "#)
        #expect(result == .objects(3))
        #expect(objects == [["1"], ["two"], [nil]])
    }

    @Test func numbersKeepTheirText() {
        let (_, objects) = scan(["a", "b", "c", "d"], #"{"a":-0.5e-3,"b":1.7267838395395e+18,"c":0,"d":-}"#)
        #expect(objects == [["-0.5e-3", "1.7267838395395e+18", "0", nil]])
    }

    @Test func byteOrderMarkAndWhitespace() {
        let (result, objects) = scan(["a"], "\u{FEFF}\t{ \"a\" :\r\n \"x\" }\t")
        #expect(result == .objects(1))
        #expect(objects == [["x"]])
    }

    @Test func pathTableIndexes() {
        let table = JSONPathTable(paths: ["a.b", "C", "A.B", ""])
        #expect(table.count == 4)
        #expect(table.index(of: "a.B") == 0)
        #expect(table.index(of: "c") == 1)
        #expect(table.index(of: "nope") == nil)
    }

    @Test func copiesOfAScannerDoNotShareScratch() {
        var first = JSONScanner(table: JSONPathTable(paths: ["s"]))
        var second = first
        let lineA = #"{"s":"caf\u00e9"}"#
        let lineB = #"{"s":"\u00fcber"}"#
        GatewayFormatHarness.withView(lineA) { a in
            GatewayFormatHarness.withView(lineB) { b in
                var seenA = ByteView.empty
                _ = first.scan(a) { seenA = $0[0] }
                var seenB = ByteView.empty
                _ = second.scan(b) { seenB = $0[0] }
                // Both unescaped into scratch; the second scan must not overwrite the first's bytes.
                #expect(seenA.string == "café")
                #expect(seenB.string == "über")
            }
        }
    }

    @Test func scratchGrowsForLongLines() {
        var scanner = JSONScanner(table: JSONPathTable(paths: ["s"]))
        let long = String(repeating: "\\u00e9", count: 5000)
        for line in [#"{"s":"\u00e9"}"#, #"{"s":""# + long + #""}"#, #"{"s":"\u00e8"}"#] {
            GatewayFormatHarness.withView(line) { view in
                var value = ""
                let result = scanner.scan(view) { value = $0[0].string }
                #expect(result == .objects(1))
                #expect(value.unicodeScalars.allSatisfy { $0 == "é" || $0 == "è" })
            }
        }
    }
}
