import ConcordCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tokens this node presents to its peers, kept in a file beside the store (`STORE.peers`,
/// mode 0600) and not in the store: a copy of the store handed to an auditor carries no power to
/// sync as the node. One peer a line, `NAME TOKEN`; lines starting `#` are comments.
package enum PeerTokenFile {
    package static func path(forStore storePath: String) -> String { storePath + ".peers" }

    /// The tokens by peer name; empty when the file does not exist. Refuses a file others can read.
    package static func read(at path: String) throws -> [String: String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return [:] }
            throw ConcordError(.nodeKey, "cannot read the peer token file \(path): \(String(cString: strerror(errno)))")
        }
        if info.st_mode & 0o077 != 0 {
            throw ConcordError(.nodeKey, "the peer token file \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        let text = try PrivateFile.readText(path, limit: 1 << 20)
        var tokens: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            tokens[String(parts[0])] = parts[1].trimmingSpaces
        }
        return tokens
    }

    /// Writes every token atomically, mode 0600.
    package static func write(_ tokens: [String: String], to path: String, storePath: String) throws {
        var text = "# Concord: the tokens the node of \(storePath) presents to its peers (concord peer add).\n# Keep it private (mode 0600): whoever holds a token can sync as this node.\n"
        for (name, token) in tokens.sorted(by: { $0.key < $1.key }) { text += "\(name) \(token)\n" }
        try PrivateFile.writeAtomically(text, to: path, what: "the peer token file")
    }
}

/// Reading and writing small private files (keys, tokens) with mode 0600.
package enum PrivateFile {
    package static func readText(_ path: String, limit: Int) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConcordError(.nodeKey, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            data += buffer[0..<count]
            if data.count > limit { throw ConcordError(.nodeKey, "\(path) is larger than \(limit) bytes") }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Temporary file (mode 0600), fsync, rename over `path`, fsync of the directory.
    package static func writeAtomically(_ text: String, to path: String, what: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ConcordError(.nodeKey, "cannot create \(what) \(temporary): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ConcordError(.nodeKey, "cannot write \(what) \(path): \(reason)")
        }
        FileSystem.syncDirectory(containing: path)
    }
}
