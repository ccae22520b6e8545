// A privacy settings screen on top of Mesure's mode model.
//
// Not compiled by `cargo xtask test-swift`: SwiftUI needs Apple's SDK. Build
// it in an iOS app target of Xcode that depends on the package at ios/ (after
// ios/build-xcframework.sh), with ExampleApp.swift beside it.

import Mesure
import SwiftUI

struct SettingsView: View {
    @StateObject private var privacy: MesureModeModel

    init(sdk: MesureSDK) {
        _privacy = StateObject(wrappedValue: MesureModeModel(sdk: sdk))
    }

    var body: some View {
        Form {
            if privacy.consentRenewalNeeded {
                // Consent lapses after six months at most; ask again rather than assume.
                Section("Your consent has expired") {
                    Text("Measurement is back to the anonymous minimum. Allow full measurement again?")
                    Button("Allow") { privacy.setConsent(true) }
                    Button("Keep the minimum", role: .cancel) { privacy.setConsent(false) }
                }
            }
            Section {
                Toggle("Measure my visits", isOn: privacy.measurementAllowed)
                LabeledContent("Current mode", value: visitorModeName(mode: privacy.mode))
            } footer: {
                Text("Anonymous audience measurement: no advertising, no tracking across apps. Turn it off and nothing more is sent.")
            }
            if let error = privacy.lastError {
                Text("Your choice could not be saved: \(error.localizedDescription)")
                    .foregroundStyle(.red)
            }
        }
        .navigationTitle("Privacy")
    }
}
