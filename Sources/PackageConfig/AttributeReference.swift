/// The references made from the attribute table: the README's table
/// (Markdown) and hanfs.conf(5) (roff). `hanfs doc attributes` and
/// `hanfs doc hanfs.conf.5` print them; tests fail when the files differ.
public enum AttributeReference {
    /// One Markdown table per section.
    public static func markdown() -> String {
        var text = ""
        for (title, attributes) in Attributes.sections {
            text += "\n#### \(title)\n\n| native Lua | modular | legacy | values | default | what it is |\n|---|---|---|---|---|---|\n"
            for a in attributes {
                let cells = [
                    a.native.map { "`\($0)`" } ?? "",
                    names(a.modular, toolkit: a.origin == .toolkit), names(a.legacy, toolkit: false),
                    a.kind.describes, a.defaultValue ?? "", a.doc,
                ]
                text += "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
            }
        }
        return text
    }

    private static func names(_ list: [String], toolkit: Bool) -> String {
        list.map { toolkit ? "`[module/]\($0)`" : "`\($0)`" }.joined(separator: ", ")
    }

    /// hanfs.conf(5).
    public static func manPage(version: String) -> String {
        var text = """
            .TH HANFS.CONF 5 "" "hanfs \(version)" "File Formats"
            .SH NAME
            hanfs.conf \\- the package file of a highly available NFS package run by hanfs
            .SH DESCRIPTION
            A package is declared in one file, in any of three formats, which read into one model:
            .TP
            .B native Lua
            a file ending in
            .IR .lua :
            .B package{...}
            with the package's settings,
            .BR vg ,
            .BR filesystem{...} ,
            .B export{...}
            and
            .B address{...}
            declarations;
            .TP
            .B Serviceguard modular package file
            .I attribute value
            lines; the NFS toolkit's attributes also behind a module prefix
            .RI ( tkit/nfs/nfs/XFS );
            .TP
            .B legacy hanfs.conf
            .I NAME=value
            and
            .I NAME[n]=value
            lines, nothing expanded.
            .PP
            A bad value, an unknown attribute, a missing or duplicate fsid, or a path on none of the
            package's file systems is reported with its file, line and attribute, and nothing runs.
            .B hanfs validate \\-\\-config
            .I FILE
            checks a file.

            """
        for (title, attributes) in Attributes.sections {
            text += ".SH \(title.uppercased())\n"
            for a in attributes {
                let heading = a.native ?? a.modular.first ?? "\(a.field)"
                text += ".TP\n.B \(roff(heading))\n\(roff(a.doc))\n.br\n"
                var facts: [String] = []
                if !a.modular.isEmpty { facts.append("modular: " + a.modular.joined(separator: ", ")) }
                if !a.legacy.isEmpty { facts.append("legacy: " + a.legacy.joined(separator: ", ")) }
                facts.append("values: " + a.kind.describes.replacingOccurrences(of: "`", with: ""))
                if let d = a.defaultValue { facts.append("default: " + d) }
                text += roff(facts.joined(separator: "; ")) + "\n"
            }
        }
        text += """
            .SH FILES
            .TP
            .I /etc/hanfs/site.lua
            the site's hooks, loaded before every script
            .TP
            .I /var/log/hanfs/NAME.log
            the package's log
            .SH SEE ALSO
            .BR hanfs (8)

            """
        return text
    }

    /// Text safe in roff: backslashes doubled, no line starting with a dot or quote.
    public static func roff(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
            .replacingOccurrences(of: "`", with: "")
        return escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
    }
}
