#if canImport(SwiftUI) && canImport(Combine)
import Combine
import Foundation
import MesureBindings
import SwiftUI

/// The visitor mode for SwiftUI settings screens, updated on the main queue.
///
///     @StateObject private var privacy = MesureModeModel(sdk: sdk)
///     Toggle("Measure my visits anonymously", isOn: privacy.measurementAllowed)
@MainActor
public final class MesureModeModel: ObservableObject {
    @Published public private(set) var mode: VisitorMode
    @Published public private(set) var consentRenewalNeeded: Bool
    /// Why the last change made through this model failed (the SDK was shut down).
    @Published public private(set) var lastError: Error?

    private let sdk: MesureSDK
    private var observation: ModeObservation?

    public init(sdk: MesureSDK) {
        self.sdk = sdk
        let now = sdk.modes.current
        mode = now.mode
        consentRenewalNeeded = now.consentRenewalNeeded
        let weakModel = WeakModel(self)
        observation = sdk.modes.observe { state in
            // The main queue rather than a Task: changes must land in the order reported.
            DispatchQueue.main.async {
                MainActor.assumeIsolated { weakModel.model?.apply(state) }
            }
        }
    }

    public var isOptedOut: Bool { mode == .optOut }

    /// For a toggle worded as a permission ("Measure my visits"): on is any mode but opt-out.
    public var measurementAllowed: Binding<Bool> {
        Binding(get: { !self.isOptedOut }, set: { self.setOptedOut(!$0) })
    }

    public func setOptedOut(_ optedOut: Bool) {
        change { try $0.setOptedOut(optedOut) }
    }

    /// The answer to a consent prompt; see `MesureSDK.setConsent`.
    public func setConsent(_ granted: Bool) {
        change { try $0.setConsent(granted) }
    }

    private func change(_ body: (MesureSDK) throws -> Void) {
        do {
            try body(sdk)
            lastError = nil
            // The listener's copy arrives a moment later; without this a
            // toggle would flick back until then.
            apply(sdk.modes.current)
        } catch {
            lastError = error
        }
    }

    private func apply(_ state: ModeState) {
        if mode != state.mode { mode = state.mode }
        if consentRenewalNeeded != state.consentRenewalNeeded { consentRenewalNeeded = state.consentRenewalNeeded }
    }
}

/// Lets the SDK's thread hold the model without keeping it alive; read on the main queue only.
private final class WeakModel: @unchecked Sendable {
    weak var model: MesureModeModel?
    init(_ model: MesureModeModel) { self.model = model }
}
#endif
