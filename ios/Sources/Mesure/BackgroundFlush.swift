#if canImport(UIKit) && !os(watchOS)
import Foundation
import MesureBindings
import UIKit

/// Uploads what is queued when the app goes to the background, the last
/// moment it surely runs: a suspended app may be killed without notice.
/// Hits that do not go stay queued for the next launch.
final class BackgroundFlush {
    private var observer: NSObjectProtocol?

    init(mesure: MesureCore) {
        observer = NotificationCenter.default.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { [weak mesure] _ in
            guard let mesure else { return }
            // queue: .main, so this block runs on the main thread.
            MainActor.assumeIsolated { BackgroundFlush.flush(mesure) }
        }
    }

    deinit {
        if let observer {
            NotificationCenter.default.removeObserver(observer)
        }
    }

    @MainActor
    private static func flush(_ mesure: MesureCore) {
        // The background task buys the upload time before iOS suspends the app.
        let task = BackgroundTask(name: "Mesure flush")
        // flush() blocks until the upload ends: never on the main thread.
        DispatchQueue.global(qos: .utility).async {
            // A failure leaves the hits queued; nothing to report to anyone.
            _ = try? mesure.flush()
            DispatchQueue.main.async {
                MainActor.assumeIsolated { task.end() }
            }
        }
    }
}

/// A background task ended exactly once, by the flush or by iOS's expiry.
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
