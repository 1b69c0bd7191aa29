import ArgumentParser
import ConcordCore
import Foundation

/// Turns Concord's errors into one line on standard error and a documented exit code.
enum CommandFailure {
    static func exitCode(for code: ConcordError.Code) -> Int32 {
        switch code {
        case .verificationFailed: 1
        case .invalidJSON, .invalidArgument, .tooLarge, .invalidEvent, .clockAhead: 65
        case .fork: 70
        case .peer, .unauthorized, .forbidden, .timeout, .tooManyRequests: 69
        case .storeNotFound, .notAConcordStore: 66
        case .unknownID: 67
        case .ruleViolation: 68
        case .storeExists: 73
        case .storage: 74
        case .wrongExpectedVersion: 75
        case .nodeKey, .untrustedOrigin, .tooManyOrigins: 77
        case .storeTooNew: 78
        default: 1
        }
    }

    /// Runs a command body; a `ConcordError` (or a storage engine's error, as one) becomes
    /// `concord: MESSAGE` and its exit code.
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw reported(error)
        }
    }

    /// `reporting` for a body that awaits.
    static func reporting<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw reported(error)
        }
    }

    /// The exit for `error`, its message printed; other errors (ArgumentParser's own) pass as they are.
    private static func reported(_ error: any Error) -> any Error {
        let concord = (error as? ConcordError) ?? (error as? any ConcordErrorConvertible)?.concordError
        guard let concord else { return error }
        printError(concord.message)
        return ExitCode(exitCode(for: concord.code))
    }

    /// Prints one message; control characters other than line breaks and tabs (a peer's text
    /// can reach a message, terminal escapes and all) are shown as U+FFFD.
    static func printError(_ message: String) {
        let printable = String(String.UnicodeScalarView(message.unicodeScalars.map { scalar in
            scalar == "\n" || scalar == "\t" || !(scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)) ? scalar : "\u{FFFD}"
        }))
        FileHandle.standardError.write(Data("concord: \(printable)\n".utf8))
    }
}

/// Who is recording: `--actor`, else $CONCORD_ACTOR, else the operating-system user.
enum Actor {
    static func resolve(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        let environment = ProcessInfo.processInfo.environment
        if let actor = environment["CONCORD_ACTOR"], !actor.isEmpty { return actor }
        if let user = environment["USER"], !user.isEmpty { return user }
        return NSUserName().isEmpty ? "unknown" : NSUserName()
    }
}
