import Foundation
import MesureBindings

/// The ordered hand-off between the app's threads and the core: every call
/// becomes a job appended at call time and run, one at a time and in that
/// order, on one serial queue. So program order holds across calls
/// (`setOptedOut(true)` then `track(...)` filters that track under
/// opt-out), calls made before the core is built wait in line, and the
/// caller pays for a lock and an append, never for the core's work.
///
/// Bounded: a track submitted when `capacity` jobs are pending pushes out
/// the oldest pending track (counted, then reported by `onDropped` on the
/// queue). Other jobs (mode changes, waiting operations, close) are never
/// dropped and never push anything out: a privacy choice must not be lost
/// to a burst of events, and they come at the app's pace, not in bursts.
final class Dispatcher: @unchecked Sendable {
    /// A track call, kept as data rather than a closure: no allocation per call beyond the map.
    struct Track {
        enum Kind {
            case event
            case screen
            case click(ClickKind)

            /// The operation's name, for logs (the name tracked is never logged:
            /// a screen's name is a value).
            var operation: String {
                switch self {
                case .event: return "track"
                case .screen: return "trackScreen"
                case .click: return "trackClick"
                }
            }
        }

        let kind: Kind
        let name: String
        let properties: Properties
    }

    enum Job {
        case track(Track)
        case other(() -> Void)

        var isTrack: Bool {
            if case .track = self { return true }
            return false
        }
    }

    let queue: DispatchQueue
    private let capacity: Int
    // Set once by `attach`, before the first job; read on the queue.
    private var runTrack: (Track) -> Void = { _ in }
    private var onDropped: (Int64) -> Void = { _ in }
    private let key = DispatchSpecificKey<Bool>()

    // Guarded by `lock`.
    private let lock = NSLock()
    private var pending: [Job] = []
    private var scheduled = false
    private var dropped: Int64 = 0
    private var closed = false

    // The queue's own: the batch being run, kept to reuse its storage.
    private var batch: [Job] = []

    init(label: String, capacity: Int) {
        queue = DispatchQueue(label: label, qos: .utility)
        self.capacity = max(1, capacity)
        queue.setSpecific(key: key, value: true)
    }

    /// What runs a track, and what hears of dropped ones. Called once, before the first `submit`.
    func attach(runTrack: @escaping (Track) -> Void, onDropped: @escaping (Int64) -> Void) {
        self.runTrack = runTrack
        self.onDropped = onDropped
    }

    /// Whether the caller is running on the queue (a callback of the SDK's).
    var isCurrent: Bool { DispatchQueue.getSpecific(key: key) == true }

    /// Appends `job`; false (and nothing appended) once closed.
    @discardableResult
    func submit(_ job: Job) -> Bool {
        lock.lock()
        guard !closed else {
            lock.unlock()
            return false
        }
        append(job)
        let wake = !scheduled
        scheduled = true
        lock.unlock()
        if wake { queue.async { self.drain() } }
        return true
    }

    /// Appends `last` and refuses every later job; false if already closed.
    func close(with last: @escaping () -> Void) -> Bool {
        lock.lock()
        guard !closed else {
            lock.unlock()
            return false
        }
        closed = true
        append(.other(last))
        let wake = !scheduled
        scheduled = true
        lock.unlock()
        if wake { queue.async { self.drain() } }
        return true
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    /// Under `lock`.
    private func append(_ job: Job) {
        if job.isTrack, pending.count >= capacity, let oldest = pending.firstIndex(where: \.isTrack) {
            pending.remove(at: oldest)
            dropped += 1
        }
        pending.append(job)
    }

    private func drain() {
        while true {
            lock.lock()
            if pending.isEmpty {
                scheduled = false
                let lost = dropped
                dropped = 0
                lock.unlock()
                if lost > 0 { onDropped(lost) }
                return
            }
            swap(&batch, &pending)
            let lost = dropped
            dropped = 0
            lock.unlock()
            if lost > 0 { onDropped(lost) }
            for job in batch {
                switch job {
                case let .track(t): runTrack(t)
                case let .other(body): body()
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
