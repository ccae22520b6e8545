// A privacy settings screen on Mesure's state model: the opt-out switch,
// and the consent prompt when a consent lapsed (or was never asked).
//
// Not built here: SwiftUI needs Apple's SDK. Build it on a Mac in an iOS
// app target of Xcode that depends on the package at the repository root
// (`cargo xtask xcframework`, then `MESURE_LOCAL_FFI=1 xed .` to use the
// local build), with ExampleApp.swift beside it.

import Mesure
import SwiftUI

struct SettingsView: View {
    @StateObject private var privacy: MesureStateModel
    private let sdk: MesureSDK
    @State private var export: String?

    init(sdk: MesureSDK) {
        self.sdk = sdk
        _privacy = StateObject(wrappedValue: MesureStateModel(sdk: sdk))
    }

    var body: some View {
        Form {
            if privacy.state.consentRenewalNeeded {
                ConsentPrompt(privacy: privacy)
            }
            Section {
                // On: any mode but opt-out. Moves at once; the SDK applies it a moment later.
                Toggle("Measure my visits", isOn: privacy.measurementAllowed)
                LabeledContent("Current mode", value: "\(privacy.state.mode)")
                if !privacy.state.ready {
                    Text(privacy.state.error?.localizedDescription ?? "Starting…")
                        .foregroundStyle(.secondary)
                }
            } footer: {
                Text("Anonymous audience measurement: no advertising, no tracking across apps. Turn it off and nothing more is sent.")
            }
            Section("Full measurement") {
                Button("Allow full measurement") { privacy.setConsent(true) }
                Button("Keep the minimum") { privacy.setConsent(false) }
            }
            Section("Your data") {
                Button("Show what is stored on this device") {
                    Task { export = try? await sdk.exportLocalData() }
                }
                Button("Delete it", role: .destructive) {
                    Task { _ = try? await sdk.deleteLocalData() }
                }
                if let export {
                    Text(export).font(.footnote.monospaced())
                }
            }
            if let error = privacy.lastError {
                Text("Your choice could not be saved: \(error.localizedDescription)")
                    .foregroundStyle(.red)
            }
        }
        .navigationTitle("Privacy")
    }
}

/// Asked when consent lapsed (six months at most): ask again rather than assume.
private struct ConsentPrompt: View {
    @ObservedObject var privacy: MesureStateModel

    var body: some View {
        Section("Your consent has expired") {
            Text("Measurement is back to the anonymous minimum. Allow full measurement again?")
            Button("Allow") { privacy.setConsent(true) }
            Button("Keep the minimum", role: .cancel) { privacy.setConsent(false) }
        }
    }
}
