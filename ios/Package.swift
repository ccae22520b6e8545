// swift-tools-version:5.9
// Mesure for iOS and macOS. Run ./build-xcframework.sh first (on a Mac): it
// builds MesureFFI.xcframework and copies the generated Swift bindings into
// Sources/MesureBindings. Both are build output and are not committed.
import PackageDescription

let package = Package(
    name: "Mesure",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Mesure", targets: ["Mesure"]),
    ],
    targets: [
        // The Rust core as a static library per platform, with the C header
        // and a module map naming the module `mesure_ffiFFI`, which the
        // generated Swift imports. A release publishes the zipped xcframework
        // and points here instead:
        //   .binaryTarget(
        //       name: "MesureFFI",
        //       url: "https://github.com/<org>/mesure/releases/download/<version>/MesureFFI.xcframework.zip",
        //       checksum: "<swift package compute-checksum MesureFFI.xcframework.zip>"
        //   ),
        // with MesureFFI.swift committed on the release tag, since a remote
        // package cannot run the build script.
        .binaryTarget(name: "MesureFFI", path: "MesureFFI.xcframework"),
        // Only source: the generated MesureFFI.swift.
        .target(name: "MesureBindings", dependencies: ["MesureFFI"], path: "Sources/MesureBindings"),
        .target(
            name: "Mesure",
            dependencies: ["MesureBindings"],
            path: "Sources/Mesure",
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
        .testTarget(name: "MesureTests", dependencies: ["Mesure"], path: "Tests/MesureTests"),
    ]
)
