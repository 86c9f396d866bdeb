// swift-tools-version: 6.2
//
// hanfs: a Swift host that embeds Lua 5.4 and runs the control scripts of a
// highly available NFS package. The targets, from the bottom up:
//
//   CLua, CEditLine   system libraries (Debian's liblua5.4-dev, libedit-dev)
//   LuaBoundary       C: the one place that raises Lua errors (trampoline,
//                     message handler, hooks, sandbox, protected setup)
//   LineEditing       C: the REPL's line editing, history and completion (libedit)
//   LinuxCalls        C: the Linux calls and constants Swift's Glibc does not
//                     show (pipe2, pidfd_open, inotify, O_DIRECT)
//   SafeFiles         Swift: reading files and working in directories that
//                     cannot be redirected (no links, no swapped directories)
//   LuaRuntime        Swift: a Lua state, values, host functions, script runs
//   PackageConfig     Swift: the package model, its text formats, validation
//   Primitives        Swift: the commands hanfs runs; knows nothing of Lua
//   HostBindings      Swift: hands the primitives to Lua as host functions
//   Actions           Swift: the one pipeline every action runs through
//                     (load, lock, log, host, run, undo, marker, outcome)
//   Lab               Swift: two nodes and a client on one machine (`hanfs lab`)
//   hanfs             the command-line tool (run, repl, ...)
import PackageDescription

let package = Package(
    name: "hanfs",
    products: [
        .executable(name: "hanfs", targets: ["hanfs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLua",
            path: "Sources/CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        .systemLibrary(
            name: "CEditLine",
            path: "Sources/CEditLine",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        .target(
            name: "LuaBoundary",
            dependencies: ["CLua"],
            path: "Sources/LuaBoundary"
        ),
        .target(
            name: "LineEditing",
            dependencies: ["CEditLine"],
            path: "Sources/LineEditing"
        ),
        .target(
            name: "LinuxCalls",
            path: "Sources/LinuxCalls"
        ),
        .target(
            name: "SafeFiles",
            path: "Sources/SafeFiles"
        ),
        .target(
            name: "LuaRuntime",
            dependencies: ["LuaBoundary", "SafeFiles"],
            path: "Sources/LuaRuntime"
        ),
        .target(
            name: "PackageConfig",
            dependencies: ["SafeFiles"],
            path: "Sources/PackageConfig"
        ),
        .target(
            name: "Primitives",
            dependencies: ["PackageConfig", "SafeFiles", "LinuxCalls", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Primitives"
        ),
        .target(
            name: "HostBindings",
            dependencies: [
                "LuaRuntime", "Primitives", "PackageConfig",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/HostBindings"
        ),
        .target(
            name: "Actions",
            dependencies: [
                "HostBindings", "LuaRuntime", "Primitives", "PackageConfig", "SafeFiles",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Actions"
        ),
        .target(
            name: "Lab",
            dependencies: ["PackageConfig", "Primitives"],
            path: "Sources/Lab"
        ),
        .executableTarget(
            name: "hanfs",
            dependencies: [
                "Actions", "HostBindings", "LuaRuntime", "Primitives", "LineEditing", "Lab", "SafeFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/hanfs"
        ),
        .executableTarget(
            name: "hanfs-bench",
            dependencies: ["HostBindings", "LuaRuntime", "Primitives", "TestSupport", "Lab"],
            path: "Benchmarks/HanfsBench"
        ),
        .executableTarget(
            name: "hanfs-fuzz",
            dependencies: ["HostBindings", "LuaRuntime", "PackageConfig", "Primitives"],
            path: "Fuzz/HanfsFuzz"
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Primitives", "PackageConfig", "Lab"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "PackageConfigTests",
            dependencies: ["PackageConfig", "Primitives", "HostBindings", "TestSupport"],
            path: "Tests/PackageConfigTests"
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Primitives", "TestSupport", "Lab"],
            path: "Tests/IntegrationTests"
        ),
        .testTarget(
            name: "LuaRuntimeTests",
            dependencies: ["LuaRuntime", "TestSupport"],
            path: "Tests/LuaRuntimeTests"
        ),
        .testTarget(
            name: "PrimitivesTests",
            dependencies: ["Primitives", "SafeFiles", "TestSupport"],
            path: "Tests/PrimitivesTests"
        ),
        .testTarget(
            name: "ScriptTests",
            dependencies: [
                "Actions", "HostBindings", "LuaRuntime", "Primitives", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ScriptTests"
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["Primitives", "TestSupport"],
            path: "Tests/CLITests"
        ),
    ]
)
