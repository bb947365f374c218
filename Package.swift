// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "keywatch",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "KeywatchCore", targets: ["KeywatchCore"]),
        .executable(name: "keywatch", targets: ["keywatch"]),
        .executable(name: "keywatch-sim", targets: ["keywatch-sim"]),
        .executable(name: "keywatch-bench", targets: ["keywatch-bench"]),
        .executable(name: "keywatch-eval", targets: ["keywatch-eval"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CMaxMindDB", pkgConfig: "libmaxminddb",
            providers: [.apt(["libmaxminddb-dev"])]
        ),
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        // Static inline C in headers: cache prefetch hints and SSE2 tag matching for the detection
        // loop, and the parsers' 16-byte field search.
        .target(name: "CPrefetch"),
        // HTTP POST for webhooks through libcurl, loaded with dlopen on first use (libcurl4-openssl-dev
        // for the header at build time; libcurl4 at run time, only where webhooks are used).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "KeywatchCore",
            dependencies: [
                "CZlib",
                "CISAL",
                "CMaxMindDB",
                "CPrefetch",
                "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "keywatch",
            dependencies: [
                "KeywatchCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "keywatch-sim",
            dependencies: [
                "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "keywatch-bench",
            dependencies: ["KeywatchCore"]
        ),
        .executableTarget(
            name: "keywatch-eval",
            dependencies: [
                "KeywatchCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "KeywatchCoreTests",
            dependencies: ["KeywatchCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "EndToEndTests",
            // GRDB reads the alerts a killed `analyze` left in the state, as a user's SQL client would.
            dependencies: [
                "keywatch", .product(name: "GRDB", package: "GRDB.swift"),
                // Receiver-side HMAC check of X-Keywatch-Signature, as a user's webhook would do it.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
