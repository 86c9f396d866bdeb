import Actions
import ArgumentParser
import HostBindings
import PackageConfig

/// The reference texts made from the declarations in the code, so that the
/// README cannot drift from them: `make docs` writes them into the README,
/// and a test fails when it differs.
struct Doc: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a reference made from the code: primitives, attributes (the README's tables), hanfs.conf.5.",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "primitives, attributes or hanfs.conf.5") var what: String

    func run() throws {
        let context = global.context()
        context.startLogging(nil)
        switch what {
        case "primitives":
            let host = try ActionPipeline(context).host(package: nil)
            Console.write(ScriptHost.primitiveReference(host.primitives), to: .standardOutput)
        case "attributes":
            Console.write(AttributeReference.markdown(), to: .standardOutput)
        case "hanfs.conf.5":
            Console.write(AttributeReference.manPage(version: Hanfs.version), to: .standardOutput)
        default:
            throw ValidationError("\(what): primitives, attributes or hanfs.conf.5")
        }
    }
}
