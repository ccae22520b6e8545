// swift-tools-version:5.9
// Mesure for an app on Linux: the manifest `cargo xtask swift-package --out
// DIR` writes into DIR, beside what it lays out there (made again, file by
// file, on each run):
//
//   Sources/mesure_ffiFFI   the generated header and a module map linking mesure_ffi
//   Sources/MesureBindings  the generated MesureFFI.swift
//   Sources/Mesure          ios/Sources/Mesure/*.swift (the Apple-only parts compile out)
//   lib/                    libmesure_ffi.so, the desktop build (Rust HTTP client included)
//
// An app depends on DIR by path: `.package(path: "DIR")`, product `Mesure`,
// and `import Mesure`. The linker finds the library in DIR/lib, and the
// app finds it there at run time (rpath), wherever DIR is: flags that
// SwiftPM accepts from a root or a path dependency only, not from a
// package fetched by URL. Apple platforms use the root Package.swift (the
// XCFramework) instead.
import PackageDescription

let lib = Context.packageDirectory + "/lib"

let package = Package(
    name: "Mesure",
    products: [
        .library(name: "Mesure", targets: ["Mesure"]),
    ],
    targets: [
        .systemLibrary(name: "mesure_ffiFFI", path: "Sources/mesure_ffiFFI"),
        .target(
            name: "MesureBindings",
            dependencies: ["mesure_ffiFFI"],
            path: "Sources/MesureBindings",
            linkerSettings: [.unsafeFlags(["-L", lib, "-Xlinker", "-rpath", "-Xlinker", lib])]
        ),
        .target(name: "Mesure", dependencies: ["MesureBindings"], path: "Sources/Mesure"),
    ]
)
