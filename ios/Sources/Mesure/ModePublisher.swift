import Foundation
import MesureBindings

/// The visitor mode as a settings screen shows it.
public struct ModeState: Equatable, Sendable {
    public let mode: VisitorMode
    /// An opt-in lapsed (consent is kept six months at most): ask again.
    public let consentRenewalNeeded: Bool
    /// Increases with every change the core makes: a state with a lower
    /// epoch is older, and is never published over a newer one.
    public let epoch: Int64

    public init(mode: VisitorMode, consentRenewalNeeded: Bool, epoch: Int64) {
        self.mode = mode
        self.consentRenewalNeeded = consentRenewalNeeded
        self.epoch = epoch
    }

    public init(_ status: ModeStatus) {
        self.init(mode: status.mode, consentRenewalNeeded: status.consentRenewalNeeded, epoch: status.epoch)
    }

    public init(_ change: ModeChange) {
        self.init(mode: change.current, consentRenewalNeeded: change.consentRenewalNeeded, epoch: change.epoch)
    }

    public var isOptedOut: Bool { mode == .optOut }
}

/// The mode in force and its changes, from any thread.
///
/// The state is published both by the caller of a change (at once) and by
/// the SDK's listener thread (a moment later); a state older than the one
/// published (a lower epoch) is ignored, so two quick changes never flip the
/// published mode back. The SDK reports changes on its listener thread; `updates()` hands them to
/// Swift concurrency and `MesureModeModel` (Apple platforms) to SwiftUI on the
/// main queue. Changes the app did not ask for arrive here too: a lapsed
/// consent, a deletion of local data.
public final class ModePublisher: @unchecked Sendable {
    // Guards everything below; never held while observers run.
    private let lock = NSLock()
    private var state: ModeState
    private var finished = false
    private var continuations: [UUID: AsyncStream<ModeState>.Continuation] = [:]
    private var observers: [UUID: @Sendable (ModeState) -> Void] = [:]

    init(_ initial: ModeState) {
        state = initial
    }

    deinit {
        finish()
    }

    public var current: ModeState {
        locked { state }
    }

    /// The current state, then each change. A slow reader only gets the
    /// latest state: a settings screen wants where things stand, not history.
    public func updates() -> AsyncStream<ModeState> {
        let id = UUID()
        return AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            continuation.onTermination = { [weak self] _ in
                self?.locked { self?.continuations[id] = nil }
            }
            let open: Bool = locked {
                // Registered and seeded under one lock: no change can fall between.
                continuation.yield(state)
                if !finished { continuations[id] = continuation }
                return !finished
            }
            if !open {
                continuation.finish()
            }
        }
    }

    /// Calls `handler` with each change, on the thread that reported it,
    /// until the returned token is released.
    func observe(_ handler: @escaping @Sendable (ModeState) -> Void) -> ModeObservation {
        let id = UUID()
        locked { observers[id] = handler }
        return ModeObservation { [weak self] in
            self?.locked { self?.observers[id] = nil }
        }
    }

    func publish(_ new: ModeState) {
        let handlers: [@Sendable (ModeState) -> Void] = locked {
            guard new.epoch >= state.epoch, new != state else { return [] }
            state = new
            for continuation in continuations.values {
                continuation.yield(new)
            }
            return Array(observers.values)
        }
        for handler in handlers {
            handler(new)
        }
    }

    /// Ends every `updates()` sequence (the SDK shut down).
    func finish() {
        let ended = locked {
            finished = true
            defer { continuations.removeAll() }
            return Array(continuations.values)
        }
        for continuation in ended {
            continuation.finish()
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// Stops an observation when released.
final class ModeObservation: @unchecked Sendable {
    private let cancel: () -> Void

    init(_ cancel: @escaping () -> Void) {
        self.cancel = cancel
    }

    deinit {
        cancel()
    }
}
