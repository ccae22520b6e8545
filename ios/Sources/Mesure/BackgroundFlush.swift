#if canImport(UIKit) && !os(watchOS)
import Foundation
import UIKit

// `UIApplication.shared` is unavailable to app extensions (widgets, share
// extensions...), which may link Mesure too: everything that needs it sits
// behind these attributes, so an extension cannot call it and still builds.

@available(iOSApplicationExtension, unavailable)
@available(macCatalystApplicationExtension, unavailable)
@available(tvOSApplicationExtension, unavailable)
extension MesureSDK {
    /// Uploads what is queued each time the app enters the background, the
    /// last moment it surely runs (a suspended app may be killed without
    /// notice), inside a background task. What does not go stays queued for
    /// the next launch. Call it once, after `start`, from the app (not from
    /// an app extension).
    @MainActor
    public func flushOnEnteringBackground() {
        guard backgroundFlush == nil else { return }
        backgroundFlush = BackgroundFlush(sdk: self)
    }
}

@available(iOSApplicationExtension, unavailable)
@available(macCatalystApplicationExtension, unavailable)
@available(tvOSApplicationExtension, unavailable)
final class BackgroundFlush {
    private var observer: NSObjectProtocol?

    @MainActor
    init(sdk: MesureSDK) {
        observer = NotificationCenter.default.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { [weak sdk] _ in
            guard let sdk else { return }
            // queue: .main, so this block runs on the main thread.
            MainActor.assumeIsolated { BackgroundFlush.flush(sdk) }
        }
    }

    deinit {
        if let observer {
            NotificationCenter.default.removeObserver(observer)
        }
    }

    @MainActor
    private static func flush(_ sdk: MesureSDK) {
        // The background task buys the upload time before iOS suspends the app.
        let task = BackgroundTask(name: "Mesure flush")
        Task { @MainActor in
            // A failure leaves the hits queued; nothing to report to anyone.
            _ = try? await sdk.flush()
            task.end()
        }
    }
}

/// A background task ended exactly once, by the flush or by iOS's expiry.
@available(iOSApplicationExtension, unavailable)
@available(macCatalystApplicationExtension, unavailable)
@available(tvOSApplicationExtension, unavailable)
@MainActor
private final class BackgroundTask {
    private var id: UIBackgroundTaskIdentifier = .invalid

    init(name: String) {
        id = UIApplication.shared.beginBackgroundTask(withName: name) { [weak self] in
            // Expiry: iOS calls this on the main thread.
            MainActor.assumeIsolated { self?.end() }
        }
    }

    func end() {
        guard id != .invalid else { return }
        UIApplication.shared.endBackgroundTask(id)
        id = .invalid
    }
}
#endif
