import Foundation

/// Simulates a power cut for a real `concord` process: what the disk had not been asked to keep
/// (written but not fsynced) is lost, as when the machine loses power, not merely the process.
///
/// A small shared library, preloaded into the process (`LD_PRELOAD`), records before every
/// write, truncation or extension of the store's files (not its `-shm`, which SQLite rebuilds)
/// the bytes and size it replaces, in an undo journal; an `fsync` or `fdatasync` of a file marks
/// everything recorded for it so far as durable. After the process is killed, `cut()` undoes, in
/// reverse order, every change not followed by a sync of its file: the files are as a power cut
/// would leave them. (Writes go to the files as usual meanwhile, so the process reads its own.)
public struct PowerCut {
    public let library: String
    public let journal: String
    let prefix: String

    /// Builds the library (with the system C compiler) in `directory`; `store` is the store
    /// whose files are watched.
    public init(directory: TemporaryDirectory, store: String) throws {
        let source = directory.file("powercut.c")
        library = directory.file("powercut.so")
        journal = directory.file("powercut.journal")
        prefix = store
        try Self.source.write(toFile: source, atomically: true, encoding: .utf8)
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"]
        try compiler.run()
        compiler.waitUntilExit()
        guard compiler.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot build the power-cut library (is a C compiler installed?)"])
        }
    }

    /// What a process run under the power cut needs in its environment.
    public var environment: [String: String] {
        ["LD_PRELOAD": library, "CONCORD_POWERCUT_FILES": prefix, "CONCORD_POWERCUT_JOURNAL": journal]
    }

    /// After the process is gone: undoes every change its files were not synced after. Returns
    /// how many changes were undone.
    @discardableResult
    public func cut() throws -> Int {
        guard let data = FileManager.default.contents(atPath: journal) else { return 0 }
        let bytes = [UInt8](data)
        struct Change { var path: String; var offset: Int64; var oldSize: Int64; var old: [UInt8] }
        // Every change in order, with its file's sync generation then; a sync makes every change
        // of its file before it durable.
        var changes: [(change: Change, generation: Int)] = []
        var generation: [String: Int] = [:]
        var index = 0
        func u64() -> UInt64? {
            guard index + 8 <= bytes.count else { return nil }
            defer { index += 8 }
            return bytes[index..<index + 8].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        // Records: kind (1 change, 2 sync), path length, path, then for a change: offset, old
        // size, old length, old bytes. A record cut short by the kill is ignored.
        while index < bytes.count {
            let kind = bytes[index]
            index += 1
            guard let pathLength = u64(), index + Int(pathLength) <= bytes.count else { break }
            let path = String(decoding: bytes[index..<index + Int(pathLength)], as: UTF8.self)
            index += Int(pathLength)
            if kind == 2 {
                generation[path, default: 0] += 1
                continue
            }
            guard let offset = u64(), let oldSize = u64(), let oldLength = u64(), index + Int(oldLength) <= bytes.count else { break }
            let old = Array(bytes[index..<index + Int(oldLength)])
            index += Int(oldLength)
            changes.append((Change(path: path, offset: Int64(offset), oldSize: Int64(oldSize), old: old), generation[path, default: 0]))
        }
        var undone = 0
        for (change, changedIn) in changes.reversed() where changedIn == generation[change.path, default: 0] {
            guard let handle = FileHandle(forUpdatingAtPath: change.path) else { continue }
            try handle.seek(toOffset: UInt64(change.offset))
            handle.write(Data(change.old))
            try handle.truncate(atOffset: UInt64(change.oldSize))
            try handle.close()
            undone += 1
        }
        try FileManager.default.removeItem(atPath: journal)
        return undone
    }

    static let source = #"""
    #define _GNU_SOURCE
    #include <dlfcn.h>
    #include <errno.h>
    #include <fcntl.h>
    #include <stdarg.h>
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/stat.h>
    #include <sys/types.h>
    #include <unistd.h>

    /* The undo journal of docs in PowerCut.swift. One process, whose SQLite serialises writes. */
    static char tracked[1024][512];
    static int journal = -1;
    static const char *prefix;

    static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
    static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
    static ssize_t (*real_write)(int, const void *, size_t);
    static ssize_t (*real_pread)(int, void *, size_t, off_t);
    static int (*real_ftruncate)(int, off_t);
    static int (*real_ftruncate64)(int, off64_t);
    static int (*real_fsync)(int);
    static int (*real_fdatasync)(int);
    static int (*real_open)(const char *, int, ...);
    static int (*real_open64)(const char *, int, ...);
    static int (*real_openat)(int, const char *, int, ...);
    static int (*real_openat64)(int, const char *, int, ...);
    static int (*real_close)(int);

    static void setup(void) {
        if (real_write) return;
        real_pwrite = dlsym(RTLD_NEXT, "pwrite");
        real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
        real_write = dlsym(RTLD_NEXT, "write");
        real_pread = dlsym(RTLD_NEXT, "pread");
        real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
        real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
        real_fsync = dlsym(RTLD_NEXT, "fsync");
        real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
        real_open = dlsym(RTLD_NEXT, "open");
        real_open64 = dlsym(RTLD_NEXT, "open64");
        real_openat = dlsym(RTLD_NEXT, "openat");
        real_openat64 = dlsym(RTLD_NEXT, "openat64");
        real_close = dlsym(RTLD_NEXT, "close");
        prefix = getenv("CONCORD_POWERCUT_FILES");
        const char *path = getenv("CONCORD_POWERCUT_JOURNAL");
        if (path) journal = real_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }

    static void put(const void *data, size_t length) {
        const char *bytes = data;
        while (length > 0) {
            ssize_t n = real_write(journal, bytes, length);
            if (n <= 0) return;
            bytes += n;
            length -= (size_t)n;
        }
    }

    static void put64(uint64_t value) {
        unsigned char b[8];
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(value >> (8 * i));
        put(b, 8);
    }

    static void remember(int fd, const char *path) {
        if (fd < 0 || fd >= 1024) return;
        tracked[fd][0] = 0;
        if (!prefix || !path || strncmp(path, prefix, strlen(prefix)) != 0) return;
        size_t length = strlen(path);
        if (length >= 4 && strcmp(path + length - 4, "-shm") == 0) return;
        if (length >= sizeof(tracked[fd])) return;
        strcpy(tracked[fd], path);
    }

    static const char *watched(int fd) {
        if (journal < 0 || fd < 0 || fd >= 1024 || tracked[fd][0] == 0) return NULL;
        return tracked[fd];
    }

    /* Before `length` bytes at `offset` change: what they were, and the file's size. */
    static void before_change(int fd, off_t offset, size_t length) {
        const char *path = watched(fd);
        if (!path) return;
        struct stat info;
        if (fstat(fd, &info) != 0) return;
        off_t size = info.st_size;
        size_t old = 0;
        char *bytes = NULL;
        if (offset < size) {
            old = (size_t)((size - offset) < (off_t)length ? (size - offset) : (off_t)length);
            bytes = malloc(old ? old : 1);
            ssize_t got = real_pread(fd, bytes, old, offset);
            old = got > 0 ? (size_t)got : 0;
        }
        unsigned char kind = 1;
        put(&kind, 1);
        put64(strlen(path));
        put(path, strlen(path));
        put64((uint64_t)offset);
        put64((uint64_t)size);
        put64(old);
        if (old) put(bytes, old);
        free(bytes);
    }

    static void synced(int fd) {
        const char *path = watched(fd);
        if (!path) return;
        unsigned char kind = 2;
        put(&kind, 1);
        put64(strlen(path));
        put(path, strlen(path));
    }

    int open(const char *path, int flags, ...) {
        setup();
        mode_t mode = 0;
        if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
        int fd = real_open(path, flags, mode);
        remember(fd, path);
        return fd;
    }
    int open64(const char *path, int flags, ...) {
        setup();
        mode_t mode = 0;
        if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
        int fd = real_open64 ? real_open64(path, flags, mode) : real_open(path, flags, mode);
        remember(fd, path);
        return fd;
    }
    int openat(int dir, const char *path, int flags, ...) {
        setup();
        mode_t mode = 0;
        if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
        int fd = real_openat(dir, path, flags, mode);
        remember(fd, path);
        return fd;
    }
    int openat64(int dir, const char *path, int flags, ...) {
        setup();
        mode_t mode = 0;
        if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
        int fd = real_openat64 ? real_openat64(dir, path, flags, mode) : real_openat(dir, path, flags, mode);
        remember(fd, path);
        return fd;
    }
    int close(int fd) {
        setup();
        if (fd >= 0 && fd < 1024) tracked[fd][0] = 0;
        return real_close(fd);
    }
    ssize_t pwrite(int fd, const void *data, size_t length, off_t offset) {
        setup();
        before_change(fd, offset, length);
        return real_pwrite(fd, data, length, offset);
    }
    ssize_t pwrite64(int fd, const void *data, size_t length, off64_t offset) {
        setup();
        before_change(fd, offset, length);
        return real_pwrite64(fd, data, length, offset);
    }
    ssize_t write(int fd, const void *data, size_t length) {
        setup();
        if (watched(fd)) before_change(fd, lseek(fd, 0, SEEK_CUR), length);
        return real_write(fd, data, length);
    }
    int ftruncate(int fd, off_t length) {
        setup();
        struct stat info;
        if (watched(fd) && fstat(fd, &info) == 0) {
            if (length < info.st_size) before_change(fd, length, (size_t)(info.st_size - length));
            else before_change(fd, info.st_size, 0);
        }
        return real_ftruncate(fd, length);
    }
    int ftruncate64(int fd, off64_t length) {
        setup();
        struct stat info;
        if (watched(fd) && fstat(fd, &info) == 0) {
            if (length < info.st_size) before_change(fd, length, (size_t)(info.st_size - length));
            else before_change(fd, info.st_size, 0);
        }
        return real_ftruncate64 ? real_ftruncate64(fd, length) : real_ftruncate(fd, length);
    }
    int fsync(int fd) {
        setup();
        int result = real_fsync(fd);
        if (result == 0) synced(fd);
        return result;
    }
    int fdatasync(int fd) {
        setup();
        int result = real_fdatasync(fd);
        if (result == 0) synced(fd);
        return result;
    }
    """#
}
