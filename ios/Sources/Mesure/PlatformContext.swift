import Foundation
import MesureBindings
#if canImport(UIKit)
import UIKit
#endif

/// Where the SDK keeps its database, and what the platform says about the
/// device. Which of these fields leave the device is decided by the visitor
/// mode in the Rust core, not here.
enum PlatformContext {
    /// Application Support/mesure/<siteId>: private to the app, kept across
    /// updates, not purgeable like Caches; one directory per site, since one
    /// SDK instance holds a directory. Computed without touching the disk;
    /// `prepare` creates it.
    static func defaultStorageDirectory(siteId: Int64) -> URL {
        mesureDirectory().appendingPathComponent(String(siteId), isDirectory: true)
    }

    /// Application Support/mesure, where earlier versions kept their one
    /// database (moved by the core: `MesureConfig.legacyStorageDir`) (Application Support/<bundle id>/mesure on macOS, where that
    /// folder is shared by the user's apps outside the sandbox).
    private static func mesureDirectory() -> URL {
        let fm = FileManager.default
        let support = fm.urls(for: .applicationSupportDirectory, in: .userDomainMask).first
            ?? fm.temporaryDirectory.appendingPathComponent("Application Support", isDirectory: true)
        #if os(macOS)
        let base = Bundle.main.bundleIdentifier.map { support.appendingPathComponent($0, isDirectory: true) } ?? support
        #else
        let base = support
        #endif
        return base.appendingPathComponent("mesure", isDirectory: true)
    }

    /// Creates the directory, readable by the app only (`0700`; the core
    /// creates its files `0600`), and keeps it out of backups: a visitor id
    /// restored onto another device would link two devices as one visitor,
    /// and outlive the 13 months it is kept. On iOS its files are encrypted
    /// at rest until the first unlock after a reboot
    /// (`completeUntilFirstUserAuthentication`: `complete` would make every
    /// write fail while the app flushes in the background with the screen
    /// locked).
    static func prepare(_ directory: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        #if os(iOS) || os(tvOS) || os(watchOS) || os(visionOS)
        try fm.setAttributes([.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication], ofItemAtPath: directory.path)
        #endif
        #if canImport(Darwin)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        var url = directory
        try url.setResourceValues(values)
        #endif
    }

    /// What any thread may read.
    static func base(bundle: Bundle = .main) -> DeviceContext {
        DeviceContext(
            os: platformName,
            osVersion: osVersion(),
            deviceBrand: isApple ? "Apple" : nil,
            deviceModel: modelIdentifier(),
            deviceType: fixedDeviceType,
            deviceScreenWidth: nil,
            deviceScreenHeight: nil,
            appVersion: bundle.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String,
            connectionType: nil,
            collectionPlatform: platformName
        )
    }

    #if canImport(UIKit) && !os(watchOS)
    /// Adds what UIKit answers on the main thread only; fields already set win.
    @MainActor
    static func withScreen(_ context: DeviceContext) -> DeviceContext {
        let idiom: String?
        switch UIDevice.current.userInterfaceIdiom {
        case .phone: idiom = "mobile"
        case .pad: idiom = "tablet"
        case .tv: idiom = "tv"
        case .mac: idiom = "desktop"
        default: idiom = nil
        }
        // UIScreen.main rather than a window scene: at launch there may be none yet.
        let pixels = UIScreen.main.nativeBounds.size
        return DeviceContext(
            os: context.os,
            osVersion: context.osVersion,
            deviceBrand: context.deviceBrand,
            deviceModel: context.deviceModel,
            deviceType: context.deviceType ?? idiom,
            deviceScreenWidth: context.deviceScreenWidth ?? Int32(exactly: pixels.width.rounded()),
            deviceScreenHeight: context.deviceScreenHeight ?? Int32(exactly: pixels.height.rounded()),
            appVersion: context.appVersion,
            connectionType: context.connectionType,
            collectionPlatform: context.collectionPlatform
        )
    }
    #endif

    private static var isApple: Bool {
        #if canImport(Darwin)
        return true
        #else
        return false
        #endif
    }

    private static var platformName: String {
        #if os(iOS)
        return "ios"
        #elseif os(macOS)
        return "macos"
        #elseif os(tvOS)
        return "tvos"
        #elseif os(watchOS)
        return "watchos"
        #elseif os(visionOS)
        return "visionos"
        #elseif os(Linux)
        return "linux"
        #else
        return "swift"
        #endif
    }

    private static var fixedDeviceType: String? {
        #if os(macOS)
        return "desktop"
        #elseif os(tvOS)
        return "tv"
        #elseif os(watchOS)
        return "watch"
        #else
        return nil
        #endif
    }

    private static func osVersion() -> String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return v.patchVersion == 0 ? "\(v.majorVersion).\(v.minorVersion)" : "\(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
    }

    /// `iPhone17,1` rather than UIDevice's generic "iPhone".
    private static func modelIdentifier() -> String? {
        #if targetEnvironment(simulator)
        return ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"]
        #elseif os(macOS)
        return sysctlString("hw.model")
        #elseif canImport(Darwin)
        var info = utsname()
        guard uname(&info) == 0 else { return nil }
        let machine = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return machine.isEmpty ? nil : machine
        #else
        // A Linux box has no model worth reporting (uname says only "x86_64").
        return nil
        #endif
    }

    #if os(macOS)
    private static func sysctlString(_ name: String) -> String? {
        var size = 0
        guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: size)
        guard sysctlbyname(name, &buffer, &size, nil, 0) == 0 else { return nil }
        let value = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        return value.isEmpty ? nil : value
    }
    #endif
}
