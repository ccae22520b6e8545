// swift-tools-version:5.9
// Mesure for iOS, Mac Catalyst and macOS, added by URL:
//
//     .package(url: "https://github.com/<org>/mesure", from: "<version>")
//     // target dependency: .product(name: "Mesure", package: "mesure")
//
// SwiftPM reads this manifest at the repository root. The Rust core comes
// as a prebuilt XCFramework attached to the release (`url:` and `checksum:`
// below, written by the release step: `cargo xtask xcframework`, then
// `cargo xtask xcframework-manifest <url> <checksum>`); the generated
// Swift bindings (ios/Sources/MesureBindings/MesureFFI.swift) are committed
// on the release tag only.
//
// Working on Mesure itself, on a Mac: `cargo xtask xcframework` builds
// ios/MesureFFI.xcframework and the bindings, then
// `MESURE_LOCAL_FFI=1 swift test` (or `MESURE_LOCAL_FFI=1 xed .`) uses that
// local build instead of the released one.
//
// Not run in this repository's CI (Linux, no Apple SDK): see ios/README.md.
import Foundation
import PackageDescription

let useLocalFFI = ProcessInfo.processInfo.environment["MESURE_LOCAL_FFI"] == "1"

let ffi: Target = useLocalFFI
    ? .binaryTarget(name: "MesureFFI", path: "ios/MesureFFI.xcframework")
    : .binaryTarget(
        name: "MesureFFI",
        url: "https://github.com/mesure-sdk/mesure/releases/download/0.0.0/MesureFFI.xcframework.zip", // release: url
        checksum: "0000000000000000000000000000000000000000000000000000000000000000" // release: checksum
    )

let apple: [Platform] = [.iOS, .macCatalyst, .macOS]

let package = Package(
    name: "Mesure",
    // The library calls the system's SQLite, 3.38 or newer: iOS 16 ships
    // 3.39, iOS 15 3.36-3.37 (ARCHITECTURE.md, "SQLite"). Keep in step with
    // the deployment targets of xtask/src/xcframework.rs.
    platforms: [.iOS(.v16), .macCatalyst(.v16), .macOS(.v13)],
    products: [
        .library(name: "Mesure", targets: ["Mesure"]),
    ],
    targets: [
        ffi,
        // Only source: the generated MesureFFI.swift, which imports the
        // xcframework's C module `mesure_ffiFFI`.
        .target(
            name: "MesureBindings",
            dependencies: ["MesureFFI"],
            path: "ios/Sources/MesureBindings",
            exclude: [".gitkeep"],
            linkerSettings: [
                // The static library does not say what it links: the
                // system's SQLite (the default `platform-sqlite` on Apple
                // targets). Nothing else: without chrono's time-zone lookup
                // it no longer calls CoreFoundation.
                .linkedLibrary("sqlite3", .when(platforms: apple)),
            ]
        ),
        .target(
            name: "Mesure",
            dependencies: ["MesureBindings"],
            path: "ios/Sources/Mesure",
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
        .testTarget(name: "MesureTests", dependencies: ["Mesure"], path: "ios/Tests/MesureTests"),
    ]
)
