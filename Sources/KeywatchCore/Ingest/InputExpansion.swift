#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the inputs a user typed (files, directories, globs, `-`) into a list of files.
public enum InputExpansion {
    /// Expands `patterns` in order. Globs are sorted so rotated sets read oldest first
    /// (`access.log.2.gz` before `access.log.1` before `access.log`); directories contribute their regular files.
    /// - Returns: The files, and the patterns that matched nothing.
    public static func expand(_ patterns: [String]) -> (inputs: [InputSource], unmatched: [String]) {
        var inputs: [InputSource] = []
        var unmatched: [String] = []
        var seen = Set<String>()
        func add(_ path: String) {
            if seen.insert(path).inserted { inputs.append(InputSource(path: path)) }
        }
        for pattern in patterns {
            if pattern == "-" {
                add("-")
                continue
            }
            var paths: [String] = []
            if pattern.contains(where: { "*?[".contains($0) }) {
                var result = glob_t()
                if glob(pattern, 0, nil, &result) == 0 {
                    for i in 0..<Int(result.gl_pathc) {
                        if let p = result.gl_pathv[i] { paths.append(String(cString: p)) }
                    }
                }
                globfree(&result)
            } else {
                paths = [pattern]
            }
            var files: [String] = []
            for path in paths {
                if isDirectory(path) {
                    files += listFiles(path)
                } else if access(path, F_OK) == 0 || !pattern.contains(where: { "*?[".contains($0) }) {
                    files.append(path)
                }
            }
            if files.isEmpty {
                unmatched.append(pattern)
                continue
            }
            for file in sortRotated(files) { add(file) }
        }
        return (inputs, unmatched)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The regular files under `directory`, descending into subdirectories (one per gateway node,
    /// say) up to `depth` levels; hidden entries are skipped.
    static func listFiles(_ directory: String, depth: Int = 4) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var files: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name.hasPrefix(".") { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFREG {
                files.append(path)
            } else if (info.st_mode & S_IFMT) == S_IFDIR && depth > 0 {
                files += listFiles(path, depth: depth - 1)
            }
        }
        return files
    }

    /// Orders a rotated set oldest first: by base name, then numbered rotations in descending number
    /// (`.3.gz`, `.2.gz`, `.1`), then the live file; dated rotations (`-20261026`) sort by date.
    public static func sortRotated(_ files: [String]) -> [String] {
        func key(_ path: String) -> (String, Int, String) {
            var name = path
            if name.hasSuffix(".gz") { name.removeLast(3) }
            // Trailing ".N" rotation number.
            if let dot = name.lastIndex(of: "."), let n = Int(name[name.index(after: dot)...]) {
                return (String(name[..<dot]), -n, path)
            }
            return (name, 0, path)
        }
        return files.sorted { a, b in
            let ka = key(a)
            let kb = key(b)
            if ka.0 != kb.0 {
                // "access.log" (live) sorts after its dated rotations "access.log-2026…".
                if kb.0.hasPrefix(ka.0) { return false }
                if ka.0.hasPrefix(kb.0) { return true }
                return ka.0 < kb.0
            }
            if ka.1 != kb.1 { return ka.1 < kb.1 }
            return ka.2 < kb.2
        }
    }
}
