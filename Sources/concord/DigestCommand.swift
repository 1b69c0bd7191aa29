import ArgumentParser
import ConcordCore
import ConcordProjections

struct DigestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Print one hash over all read models.",
        discussion: "Two nodes holding the same events print the same digest, whatever order the events reached them in. With --as-of, the digest of the read models as they stood then."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var viewOptions: ViewOptions

    func run() async throws {
        try await CommandFailure.reporting {
            let view = try await viewOptions.view(storeOptions)
            print(try await storeOptions.withHub { try await $0.readModelDigest(view) })
        }
    }
}
