import ConcordCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The node's private signing key, kept in a file beside the store (`STORE.key`), mode 0600.
///
/// The key lives outside the SQLite file so that a copy of the store handed to an auditor carries
/// no power to write as the node. Format (docs/storage-format.md):
///
///     # Concord node key …
///     origin: <32 hex digits>
///     ed25519-private-key: <64 hex digits>
package enum NodeKeyFile {
    package static func path(forStore storePath: String) -> String { storePath + ".key" }

    /// Reads the key, or nil when the file does not exist. Refuses a file others can read.
    package static func read(at path: String) throws -> NodeKey? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw ConcordError(.nodeKey, "cannot read the node key file \(path): \(String(cString: strerror(errno)))")
        }
        if info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw ConcordError(.nodeKey, "the node key file \(path) is readable by others (mode \(mode)); run: chmod 600 \(path)")
        }
        guard let text = try? PrivateFile.readText(path, limit: 64 * 1024) else {
            throw ConcordError(.nodeKey, "cannot read the node key file \(path)")
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingSpaces
        }
        guard let keyHex = fields["ed25519-private-key"], let raw = Hex.decode(keyHex), raw.count == 32 else {
            throw ConcordError(.nodeKey, "the node key file \(path) has no valid 'ed25519-private-key' line")
        }
        let key = try NodeKey(rawPrivateKey: raw)
        if let stated = fields["origin"], stated != key.origin.hex {
            throw ConcordError(.nodeKey, "the node key file \(path) names origin \(stated) but holds the key of origin \(key.origin)")
        }
        return key
    }

    /// Writes the key atomically (temporary file, fsync, rename) with mode 0600.
    package static func write(_ key: NodeKey, nodeName: String, to path: String) throws {
        let text = """
            # Concord node key for node '\(nodeName)'. Keep it private (mode 0600): whoever holds it can
            # write events as this node. Do not copy it with the store; a restored store starts a new origin.
            origin: \(key.origin.hex)
            ed25519-private-key: \(Hex.encode(key.rawPrivateKey))

            """
        try PrivateFile.writeAtomically(text, to: path, what: "the node key file")
    }
}


/// Small POSIX file helpers the store needs.
package enum FileSystem {
    /// The device and inode of a file: they change when a file is copied or restored from backup.
    package static func identity(of path: String) -> (device: Int64, inode: Int64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (Int64(bitPattern: UInt64(info.st_dev)), Int64(bitPattern: UInt64(info.st_ino)))
    }

    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The first bytes of a file, or nil when it cannot be read.
    package static func header(of path: String, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
        guard read >= 0 else { return nil }
        return Array(buffer[0..<read])
    }

    /// Creates an empty file with mode 0600; fails if it exists.
    package static func createPrivateFile(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw ConcordError(.storeExists, "a file already exists at \(path); choose another --store path") }
            throw ConcordError(.storage, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    package static func remove(_ path: String) { unlink(path) }

    /// fsync on the directory makes a rename or a new file itself durable.
    package static func syncDirectory(containing path: String) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
