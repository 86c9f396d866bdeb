import Foundation
import Actions
import ArgumentParser
import HostBindings
import PackageConfig
import Primitives

/// The reference texts made from the declarations in the code, so that the
/// README cannot drift from them: `make docs` writes them into the README,
/// and a test fails when it differs.
struct Doc: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a reference made from the code: primitives, attributes (the README's tables), hanfs.conf.5, hanfs.8.",
        shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "primitives, attributes, hanfs.conf.5 or hanfs.8") var what: String

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
        case "hanfs.8":
            // The command line's own declarations, as ArgumentParser dumps them.
            let dump = try ProcessRunner().run(Command([ScriptHost.hanfsBinary, "--experimental-dump-help"], timeout: 30))
            guard dump.succeeded else { throw ValidationError("hanfs --experimental-dump-help \(dump.summary)") }
            Console.write(try ManPage.render(Data(dump.stdout), version: Hanfs.version), to: .standardOutput)
        default:
            throw ValidationError("\(what): primitives, attributes, hanfs.conf.5 or hanfs.8")
        }
    }
}
