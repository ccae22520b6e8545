// swift-tools-version:5.9
// A tiny app against the package `cargo xtask swift-package` makes: `cargo
// xtask test-swift` writes that package to ../Mesure beside this one (in
// its staging directory, never here), builds this app with `swift run` and
// checks the line it prints. What a Linux app's manifest needs, no more.
import PackageDescription

let package = Package(
    name: "MesureApp",
    dependencies: [
        .package(path: "../Mesure"),
    ],
    targets: [
        .executableTarget(
            name: "MesureApp",
            dependencies: [.product(name: "Mesure", package: "Mesure")],
            path: "Sources/MesureApp"
        ),
    ]
)
