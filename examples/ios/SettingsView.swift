// A privacy settings screen on Mesure's state model: the opt-out switch,
// and the consent prompt when a consent lapsed (or was never asked).
//
// Not built here: SwiftUI needs Apple's SDK. Build it on a Mac in an iOS
// app target of Xcode that depends on the package at the repository root
// (`cargo xtask xcframework`, then `MESURE_LOCAL_FFI=1 xed .` to use the
// local build), with ExampleApp.swift beside it.

import Mesure
import SwiftUI

/// The consent prompts of this screen, as the consent receipts and the
/// consent statistics name them: bump a version whenever its wording or its
/// choices change, so that each answer points at the text the visitor read.
/// The locale is the language of that text (English here), not the device's.
enum Prompts {
    static let settings = ConsentContext(promptId: "settings_screen", promptVersion: "2026-12", locale: "en")
    static let renewal = ConsentContext(promptId: "renewal_prompt", promptVersion: "2026-12", locale: "en")
}

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
                ConsentPrompt(privacy: privacy, sdk: sdk)
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
                // The answer, and the prompt it was given in (into the consent receipt).
                Button("Allow full measurement") { privacy.setConsent(true, prompt: Prompts.settings) }
                Button("Keep the minimum") { privacy.setConsent(false, prompt: Prompts.settings) }
            }
            // Counted each time the section appears (anonymous consent statistics).
            .onAppear { sdk.consentPromptShown(Prompts.settings) }
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
    let sdk: MesureSDK

    var body: some View {
        Section("Your consent has expired") {
            Text("Measurement is back to the anonymous minimum. Allow full measurement again?")
            Button("Allow") { privacy.setConsent(true, prompt: Prompts.renewal) }
            Button("Keep the minimum", role: .cancel) { privacy.setConsent(false, prompt: Prompts.renewal) }
        }
        .onAppear { sdk.consentPromptShown(Prompts.renewal) }
    }
}
