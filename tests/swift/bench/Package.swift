// swift-tools-version:5.9
// The Swift benchmark, for `cargo xtask bench-swift` only: staged like the
// Swift suite (generated C module and bindings, the wrapper) with
// TrackBench.swift as an executable, built in release mode and run against
// the release build of libmesure_ffi.
import PackageDescription

let package = Package(
    name: "MesureSwiftBench",
    targets: [
        .systemLibrary(name: "mesure_ffiFFI", path: "Sources/mesure_ffiFFI"),
        .target(name: "MesureBindings", dependencies: ["mesure_ffiFFI"], path: "Sources/MesureBindings"),
        .target(name: "Mesure", dependencies: ["MesureBindings"], path: "Sources/Mesure"),
        .executableTarget(name: "MesureBench", dependencies: ["Mesure", "MesureBindings"], path: "Sources/MesureBench"),
    ]
)
