import Foundation
import MesureBindings

/// Where the SDK stands, for settings screens: the core's published state
/// (`SdkState`), as it comes: the visitor mode in force, the purposes'
/// answers, and whether the SDK runs.
public struct MesureState: Equatable, Sendable {
    /// The visitor mode in force. Until `ready`, the configured default
    /// (the stored choice, an opt-out say, is read when the SDK starts).
    public let mode: VisitorMode
    /// An opt-in lapsed (consent is kept six months at most): ask again.
    public let consentRenewalNeeded: Bool
    /// Every configured purpose's answer, audience measurement included.
    public let purposes: [String: PurposeMode]
    /// Increases with every change the core makes (0 before any); the core
    /// never publishes an older state over a newer one.
    public let epoch: Int64
    /// Whether the SDK runs: `.starting` (calls wait in order in the core),
    /// `.running`, `.failed(error:)` (the start failed: calls do nothing),
    /// `.closed`.
    public let run: RunState

    public init(mode: VisitorMode, consentRenewalNeeded: Bool = false, purposes: [String: PurposeMode] = [:],
                epoch: Int64, run: RunState) {
        self.mode = mode
        self.consentRenewalNeeded = consentRenewalNeeded
        self.purposes = purposes
        self.epoch = epoch
        self.run = run
    }

    init(_ state: SdkState) {
        self.init(mode: state.mode, consentRenewalNeeded: state.consentRenewalNeeded, purposes: state.purposes,
                  epoch: state.epoch, run: state.run)
    }

    /// The SDK started (its store is open) and is not closed: `run == .running`.
    public var ready: Bool { run == .running }

    /// Why the SDK could not start (`StorageOfAnotherSite`, `Storage`...):
    /// the error of `.failed`.
    public var error: MesureError? {
        if case let .failed(error) = run { return error }
        return nil
    }

    public var isOptedOut: Bool { mode == .optOut }
}

/// The state the core last published: read from any thread, streamed to any
/// number of readers, in the order the core published them (one listener
/// thread). No reducer: the core never publishes an older state.
final class StateStore: @unchecked Sendable {
    private let lock = NSLock()
    private var state: MesureState
    private var finished = false
    private var continuations: [UUID: AsyncStream<MesureState>.Continuation] = [:]
    private var observers: [UUID: @Sendable (MesureState) -> Void] = [:]

    init(_ initial: MesureState) {
        state = initial
    }

    deinit {
        finish()
    }

    var current: MesureState {
        lock.lock()
        defer { lock.unlock() }
        return state
    }

    /// The current state, then each change until the SDK is closed. A slow
    /// reader gets the latest state only: a screen wants where things
    /// stand, not the history.
    func updates() -> AsyncStream<MesureState> {
        let id = UUID()
        return AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            continuation.onTermination = { [weak self] _ in
                self?.remove(continuation: id)
            }
            lock.lock()
            // Seeded and registered under one lock: no change falls between.
            continuation.yield(state)
            let open = !finished
            if open { continuations[id] = continuation }
            lock.unlock()
            if !open { continuation.finish() }
        }
    }

    /// Calls `handler` with each accepted state, in order, under the
    /// store's lock: it must only hand the state on (to a queue), never
    /// call back into the SDK. Stops when the token is released.
    func observe(_ handler: @escaping @Sendable (MesureState) -> Void) -> Observation {
        let id = UUID()
        lock.lock()
        observers[id] = handler
        lock.unlock()
        return Observation { [weak self] in
            guard let self else { return }
            self.lock.lock()
            self.observers[id] = nil
            self.lock.unlock()
        }
    }

    /// A state from the core; a closed or failed SDK publishes no other, so it ends the streams.
    func publish(_ next: MesureState) {
        lock.lock()
        state = next
        for continuation in continuations.values {
            continuation.yield(next)
        }
        for observer in observers.values {
            observer(next)
        }
        lock.unlock()
        if next.run == .closed || next.error != nil { finish() }
    }

    /// Ends every stream (the SDK closed).
    func finish() {
        lock.lock()
        finished = true
        let ended = Array(continuations.values)
        continuations.removeAll()
        lock.unlock()
        for continuation in ended {
            continuation.finish()
        }
    }

    private func remove(continuation id: UUID) {
        lock.lock()
        continuations[id] = nil
        lock.unlock()
    }
}

/// Ends an observation when released.
final class Observation: @unchecked Sendable {
    private let cancel: @Sendable () -> Void

    init(_ cancel: @escaping @Sendable () -> Void) {
        self.cancel = cancel
    }

    deinit {
        cancel()
    }
}
