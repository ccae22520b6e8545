import Foundation
import MesureBindings

/// Where the SDK stands, for settings screens: the visitor mode in force,
/// the purposes' answers, and whether the SDK is running.
public struct MesureState: Equatable, Sendable {
    /// The visitor mode in force. Until `ready`, the configured default
    /// (the stored choice, an opt-out say, is read when the SDK starts).
    public let mode: VisitorMode
    /// An opt-in lapsed (consent is kept six months at most): ask again.
    public let consentRenewalNeeded: Bool
    /// Every configured purpose's answer, audience measurement included.
    public let purposes: [String: PurposeMode]
    /// Increases with every change the core makes. A state with a lower
    /// epoch is older and is never published over a newer one.
    public let epoch: Int64
    /// The SDK started (its store is open) and is not closed.
    public let ready: Bool
    /// Why the SDK could not start (`storageInUse`, `storage`); it then
    /// does nothing, and every call is reported as failing with this.
    public let error: MesureError?

    public init(mode: VisitorMode, consentRenewalNeeded: Bool = false, purposes: [String: PurposeMode] = [:],
                epoch: Int64, ready: Bool, error: MesureError? = nil) {
        self.mode = mode
        self.consentRenewalNeeded = consentRenewalNeeded
        self.purposes = purposes
        self.epoch = epoch
        self.ready = ready
        self.error = error
    }

    public var isOptedOut: Bool { mode == .optOut }

    /// Before the SDK has read its store: the configured default mode.
    static func starting(_ defaultMode: VisitorMode?) -> MesureState {
        MesureState(mode: defaultMode ?? .exempt, epoch: -1, ready: false)
    }
}

/// What moves the state, and the one rule deciding what is shown.
enum StateEvent: Sendable {
    /// The core's status, read on the SDK's queue after it started or applied a change.
    case status(ModeStatus)
    /// The core reported a change on its listener thread.
    case change(ModeChange)
    /// The SDK could not start.
    case failed(MesureError)
    /// The SDK was closed.
    case closed

    /// The state after `self`, or nil when nothing shown changes. A report
    /// older than what is shown (a lower epoch: the listener's copy of a
    /// change arriving after the queue read a later one) changes nothing.
    func reduce(_ current: MesureState) -> MesureState? {
        let next: MesureState
        switch self {
        case let .status(s):
            guard s.epoch >= current.epoch else { return nil }
            next = MesureState(mode: s.mode, consentRenewalNeeded: s.consentRenewalNeeded, purposes: s.purposes,
                               epoch: s.epoch, ready: current.error == nil, error: current.error)
        case let .change(c):
            guard c.epoch >= current.epoch else { return nil }
            next = MesureState(mode: c.current, consentRenewalNeeded: c.consentRenewalNeeded, purposes: c.purposes,
                               epoch: c.epoch, ready: current.ready, error: current.error)
        case let .failed(e):
            next = MesureState(mode: current.mode, consentRenewalNeeded: current.consentRenewalNeeded,
                               purposes: current.purposes, epoch: current.epoch, ready: false, error: e)
        case .closed:
            next = MesureState(mode: current.mode, consentRenewalNeeded: current.consentRenewalNeeded,
                               purposes: current.purposes, epoch: current.epoch, ready: false, error: current.error)
        }
        return next == current ? nil : next
    }
}

/// The published state: read from any thread, streamed to any number of
/// readers. Every change goes through `StateEvent.reduce` under one lock,
/// and readers are handed states in the order they were accepted.
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

    /// Applies `event`; returns the new state if it changed anything.
    @discardableResult
    func apply(_ event: StateEvent) -> MesureState? {
        lock.lock()
        defer { lock.unlock() }
        guard let next = event.reduce(state) else { return nil }
        state = next
        for continuation in continuations.values {
            continuation.yield(next)
        }
        for observer in observers.values {
            observer(next)
        }
        return next
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
