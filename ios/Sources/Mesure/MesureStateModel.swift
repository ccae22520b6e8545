import Foundation
import MesureBindings

/// What a settings screen shows, as a value: the SDK's state, the switch's
/// position while a change made from the screen is on its way, and the
/// last such change's error. Pure: `MesureStateModel` (SwiftUI) feeds it
/// on the main thread, and the Linux suite tests it as it is.
struct ModelLogic: Equatable {
    private(set) var state: MesureState
    /// The opt-out switch as the visitor left it, until their change is applied.
    private(set) var pendingOptedOut: Bool?
    /// Why the last change made through the model failed.
    private(set) var lastError: MesureError?
    /// Changes made through the model, and the last one answered.
    private var requests = 0
    private var answered = 0

    init(_ state: MesureState) {
        self.state = state
    }

    /// On: any mode but opt-out. Follows the switch at once, the SDK after.
    var measurementAllowed: Bool { !(pendingOptedOut ?? state.isOptedOut) }

    /// A state from the SDK. An older one (lower epoch) than shown is
    /// ignored. Once every change made here was answered, the switch
    /// follows the state again.
    mutating func receive(_ new: MesureState) {
        guard new.epoch >= state.epoch else { return }
        state = new
        if answered == requests { pendingOptedOut = nil }
    }

    /// The visitor moved the switch; returns the request's number.
    mutating func requestOptedOut(_ optedOut: Bool) -> Int {
        pendingOptedOut = optedOut
        return request()
    }

    /// Any other change made through the model (a consent answer).
    mutating func request() -> Int {
        requests += 1
        return requests
    }

    /// Request `number` was accepted (`error` nil) or failed. The core
    /// answers first and publishes the state it produced after: the switch
    /// stays where it was left until that state arrives, unless it already
    /// shows it or the change failed.
    mutating func finished(_ number: Int, error: MesureError?) {
        lastError = error
        answered = number
        if number == requests, error != nil || pendingOptedOut == state.isOptedOut { pendingOptedOut = nil }
    }
}

/// Feeds `ModelLogic` from an SDK on the main actor and makes its changes;
/// `onChange` hears of each new value. The part of the SwiftUI model that
/// is not SwiftUI: compiled and tested everywhere.
@MainActor
final class ModelDriver {
    private(set) var logic: ModelLogic {
        didSet { if logic != oldValue { onChange?(logic) } }
    }
    var onChange: ((ModelLogic) -> Void)?

    private let sdk: MesureSDK
    private var observation: Observation?

    /// `hop` runs a block on the main thread, in order (the main queue by default).
    init(sdk: MesureSDK, hop: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { DispatchQueue.main.async(execute: $0) }) {
        self.sdk = sdk
        logic = ModelLogic(sdk.state)
        let weakSelf = WeakDriver(self)
        observation = sdk.observeState { state in
            hop { MainActor.assumeIsolated { weakSelf.driver?.logic.receive(state) } }
        }
        // A change between reading `sdk.state` and observing is caught here.
        logic.receive(sdk.state)
    }

    func setOptedOut(_ optedOut: Bool) {
        let number = logic.requestOptedOut(optedOut)
        logic.finished(number, error: sdk.set("setOptedOut") { try $0.setOptedOut(optedOut) })
    }

    func setConsent(_ granted: Bool, prompt: ConsentContext? = nil) {
        let number = logic.request()
        logic.finished(number, error: sdk.set("setConsent") { try $0.setConsent(granted, prompt: prompt) })
    }
}

/// Lets the SDK's threads hold the driver without keeping it alive; read on the main thread only.
private final class WeakDriver: @unchecked Sendable {
    weak var driver: ModelDriver?
    init(_ driver: ModelDriver) { self.driver = driver }
}

#if canImport(Combine) && canImport(SwiftUI)
import Combine
import SwiftUI

/// The SDK's state for SwiftUI, updated on the main thread.
///
///     @StateObject private var privacy = MesureStateModel(sdk: sdk)
///     Toggle("Measure my visits", isOn: privacy.measurementAllowed)
///
/// SwiftUI glue only: what it shows and when is decided by `ModelLogic`
/// and `ModelDriver`, which the Linux suite tests.
@MainActor
public final class MesureStateModel: ObservableObject {
    /// Where the SDK stands (mode, purposes, ready, error).
    @Published public private(set) var state: MesureState
    /// For a toggle worded as a permission: on is any mode but opt-out.
    @Published public private(set) var isMeasurementAllowed: Bool
    /// Why the last change made through this model failed.
    @Published public private(set) var lastError: MesureError?

    private let driver: ModelDriver

    public init(sdk: MesureSDK) {
        driver = ModelDriver(sdk: sdk)
        state = driver.logic.state
        isMeasurementAllowed = driver.logic.measurementAllowed
        lastError = driver.logic.lastError
        driver.onChange = { [weak self] logic in
            guard let self else { return }
            if self.state != logic.state { self.state = logic.state }
            if self.isMeasurementAllowed != logic.measurementAllowed { self.isMeasurementAllowed = logic.measurementAllowed }
            if self.lastError != logic.lastError { self.lastError = logic.lastError }
        }
    }

    public var measurementAllowed: Binding<Bool> {
        Binding(get: { self.isMeasurementAllowed }, set: { self.driver.setOptedOut(!$0) })
    }

    public func setOptedOut(_ optedOut: Bool) { driver.setOptedOut(optedOut) }

    /// The answer to a consent prompt, and the prompt it was given in; see
    /// `MesureSDK.setConsent`. A badly named prompt fails (`lastError`).
    public func setConsent(_ granted: Bool, prompt: ConsentContext? = nil) { driver.setConsent(granted, prompt: prompt) }
}
#endif
