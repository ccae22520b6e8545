// swift-tools-version:5.9
// The Swift suite as one package, for `cargo xtask test-swift` only. xtask
// stages it under the cache dir (or target/) with the generated bindings and
// libmesure_ffi; it does not build in place. Layout once staged:
//
//   Sources/mesure_ffiFFI   generated header + a module map linking mesure_ffi
//   Sources/MesureBindings  generated MesureFFI.swift
//   Sources/Mesure          ios/Sources/Mesure/*.swift (Apple-only parts compiled out)
//   Tests/MesureTests       ios/Tests/MesureTests/*.swift + tests/swift/*.swift
//
// The package at the repository root (Package.swift) has the same targets, with the
// xcframework in place of the system library.
import PackageDescription

let package = Package(
    name: "MesureSwiftSuite",
    targets: [
        .systemLibrary(name: "mesure_ffiFFI", path: "Sources/mesure_ffiFFI"),
        .target(name: "MesureBindings", dependencies: ["mesure_ffiFFI"], path: "Sources/MesureBindings"),
        .target(name: "Mesure", dependencies: ["MesureBindings"], path: "Sources/Mesure"),
        .testTarget(name: "MesureTests", dependencies: ["Mesure", "MesureBindings"], path: "Tests/MesureTests"),
    ]
)
