#!/usr/bin/env bash
# Builds what ios/Package.swift needs and does not commit:
#   ios/MesureFFI.xcframework            the Rust core, static, per platform
#   ios/Sources/MesureBindings/MesureFFI.swift   the generated Swift bindings
#
# Runs on a Mac only (Xcode 15+ command line tools, rustup). It was written on
# Linux, where xcodebuild and the Apple SDKs do not exist, so it has not been
# run there; what Linux does run is `cargo xtask test-swift`, which compiles
# and tests the same Swift sources against the host library.
#
# Slices: iOS device (arm64), iOS simulator (arm64 + x86_64), macOS (arm64 +
# x86_64, for `swift test` on the Mac). The mobile variant of the library is
# built (--no-default-features): no Rust HTTP client, uploads go through the
# app's URLSession (URLSessionHttpClient).
set -euo pipefail

IOS_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$IOS_DIR/.." && pwd)"
WORK="$ROOT/target/xcframework"   # intermediates: build output stays under target/
LIB=libmesure_ffi.a

if [[ "$(uname -s)" != Darwin ]] || ! command -v xcodebuild >/dev/null; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)." >&2
    echo "On Linux, run the Swift suite instead: cargo xtask test-swift" >&2
    exit 1
fi

# Keep in step with `platforms:` in Package.swift; the C code of the bundled
# SQLite is compiled for the same minimum through these.
export IPHONEOS_DEPLOYMENT_TARGET=15.0
export MACOSX_DEPLOYMENT_TARGET=12.0

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${TARGETS[@]}"
for target in "${TARGETS[@]}"; do
    cargo build --manifest-path "$ROOT/Cargo.toml" --release -p mesure-ffi --no-default-features --target "$target"
done

# The bindings come from a host build (they read the library's UniFFI
# metadata, which is the same for every target).
(cd "$ROOT" && cargo xtask bindings swift)
GENERATED="$ROOT/target/bindings/swift"

rm -rf "$WORK"
mkdir -p "$WORK/headers" "$WORK/ios" "$WORK/ios-simulator" "$WORK/macos"
cp "$GENERATED/mesure_ffiFFI.h" "$WORK/headers/"
# The generated Swift does `import mesure_ffiFFI`: the module map inside the
# xcframework must name that module. No `link` line: the binary target links
# the static library itself.
cat > "$WORK/headers/module.modulemap" <<'EOF'
module mesure_ffiFFI {
    header "mesure_ffiFFI.h"
    export *
}
EOF

release() { echo "$ROOT/target/$1/release/$LIB"; }
cp "$(release aarch64-apple-ios)" "$WORK/ios/$LIB"
lipo -create "$(release aarch64-apple-ios-sim)" "$(release x86_64-apple-ios)" -output "$WORK/ios-simulator/$LIB"
lipo -create "$(release aarch64-apple-darwin)" "$(release x86_64-apple-darwin)" -output "$WORK/macos/$LIB"

# Required-reason APIs: every category whose symbols the library uses must be
# declared in the privacy manifest, or App Store Connect rejects the app
# (ITMS-91053). The scan catches a dependency update that starts using one.
MANIFEST="$IOS_DIR/Sources/Mesure/PrivacyInfo.xcprivacy"
SYMBOLS="$(nm -u "$WORK/ios/$LIB" "$WORK/macos/$LIB" 2>/dev/null | awk '{print $NF}' | sort -u)"
check_category() { # category, extended regex of symbols
    local found
    found="$(grep -E "^_($2)(\\\$INODE64)?$" <<<"$SYMBOLS" | tr '\n' ' ' || true)"
    if [[ -n "$found" ]] && ! grep -q "<string>$1</string>" "$MANIFEST"; then
        echo "error: the library uses $found($1) but $MANIFEST does not declare $1" >&2
        exit 1
    elif [[ -z "$found" ]] && grep -q "<string>$1</string>" "$MANIFEST"; then
        echo "warning: $MANIFEST declares $1 but no symbol of it was found: declare only what is used" >&2
    fi
}
check_category NSPrivacyAccessedAPICategoryFileTimestamp 'stat|fstat|fstatat|lstat|getattrlist|getattrlistbulk|fgetattrlist|getattrlistat'
check_category NSPrivacyAccessedAPICategoryDiskSpace 'statfs|fstatfs|statvfs|fstatvfs'
check_category NSPrivacyAccessedAPICategorySystemBootTime 'mach_absolute_time'

rm -rf "$IOS_DIR/MesureFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$WORK/ios/$LIB" -headers "$WORK/headers" \
    -library "$WORK/ios-simulator/$LIB" -headers "$WORK/headers" \
    -library "$WORK/macos/$LIB" -headers "$WORK/headers" \
    -output "$IOS_DIR/MesureFFI.xcframework"

mkdir -p "$IOS_DIR/Sources/MesureBindings"
cp "$GENERATED/MesureFFI.swift" "$IOS_DIR/Sources/MesureBindings/MesureFFI.swift"

echo "Built $IOS_DIR/MesureFFI.xcframework and Sources/MesureBindings/MesureFFI.swift."
echo "Next: (cd ios && swift test) runs the wrapper's tests on this Mac."
