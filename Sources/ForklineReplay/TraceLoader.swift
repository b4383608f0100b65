import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

extension Trace {
    /// Loads a trace directory (every `*.flt` and `*.jsonl` file in it, in name order) or a single
    /// file (binary, or JSON Lines when it ends in `.jsonl` or begins with `{`).
    ///
    /// Damage inside a file is kept in that process's `damage` and the sound part is loaded; a
    /// file that cannot be read at all (``TraceFileError``, JSON that is not a trace) is listed in
    /// ``unreadable`` and the other files still load.
    /// - Throws: ``ReplayError`` when the path is missing, or holds no readable trace file.
    public static func load(path: String) throws(ReplayError) -> Trace {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ReplayError("\(path): \(String(cString: strerror(errno)))", code: .notFound)
        }
        var files: [String] = []
        var hostFiles: [String] = []
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard let dir = opendir(path) else { throw ReplayError("\(path): cannot open directory: \(String(cString: strerror(errno)))", code: .notFound) }
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name.hasSuffix(".\(TraceFormat.fileExtension)") || name.hasSuffix(".jsonl") { files.append(path + "/" + name) }
                if name.hasSuffix(".\(TraceFormat.hostFileExtension)") { hostFiles.append(path + "/" + name) }
            }
            closedir(dir)
            files.sort()
            if files.isEmpty { throw ReplayError("\(path): no trace files (*.flt, *.jsonl) in this directory", code: .noTraceFiles) }
        } else {
            files = [path]
        }
        var processes: [ProcessTrace] = []
        var unreadable: [String] = []
        var hostNames = readHostFiles(hostFiles)
        for file in files {
            let bytes: [UInt8], json: Bool
            do {
                (bytes, json) = try readTraceFile(file) { name, first in
                    name.hasSuffix(".jsonl") || (!name.hasSuffix(".\(TraceFormat.fileExtension)") && looksLikeJSON(first))
                }
            } catch {
                unreadable.append(error.message)
                continue
            }
            if json {
                do { processes += try JSONLines.parse(bytes, source: file, hostNames: &hostNames) } catch { unreadable.append("\(error)") }
            } else {
                do {
                    processes.append(try bytes.withUnsafeBytes { b throws(TraceFileError) in try ProcessTrace(bytes: b, source: file) })
                } catch { unreadable.append("\(error)") }
            }
        }
        if processes.isEmpty {
            throw ReplayError("\(path): no readable trace\n" + unreadable.map { "  " + $0 }.joined(separator: "\n"), code: .unreadable)
        }
        return Trace(processes: processes, unreadable: unreadable, hostNames: hostNames)
    }

    /// True when the first non-blank byte is `{` (a JSON Lines file under another name).
    static func looksLikeJSON(_ bytes: [UInt8]) -> Bool {
        bytes.first { $0 != 32 && $0 != 9 && $0 != 10 && $0 != 13 } == UInt8(ascii: "{")
    }
}
