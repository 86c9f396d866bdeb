import Actions
import ArgumentParser
import HostBindings

/// The reference texts made from the declarations in the code, so that the
/// README cannot drift from them: `make docs` writes them into the README,
/// and a test fails when it differs.
struct Doc: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a reference made from the code: primitives (the README's tables).",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "primitives") var what: String

    func run() throws {
        let context = global.context()
        context.startLogging(nil)
        switch what {
        case "primitives":
            let host = try ActionPipeline(context).host(package: nil)
            Console.write(ScriptHost.primitiveReference(host.primitives), to: .standardOutput)
        default:
            throw ValidationError("\(what): primitives")
        }
    }
}
