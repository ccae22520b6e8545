// The smallest app around SettingsView. Not built here (no Xcode on the
// Linux CI): build it on a Mac in an iOS app target that depends on the
// package at the repository root (see SettingsView.swift).

import Mesure
import SwiftUI

@main
struct ExampleApp: App {
    // Started once, at launch. `start` checks the configuration and returns
    // at once; measurement must never stop the app: if it cannot start,
    // the app runs unmeasured.
    private let sdk: MesureSDK? = {
        var options = MesureSDK.Options()
        #if DEBUG
        options.debugLog = true
        #endif
        options.onError = { print("Mesure: \($0.localizedDescription)") }
        do {
            let sdk = try MesureSDK.start(collectEndpoint: "https://collect.example.com", siteId: 615000, options: options)
            sdk.flushOnEnteringBackground()
            return sdk
        } catch {
            print("Mesure is off: \(error.localizedDescription)")
            return nil
        }
    }()

    var body: some Scene {
        WindowGroup {
            NavigationStack {
                if let sdk {
                    SettingsView(sdk: sdk)
                        .onAppear { sdk.trackScreen("settings") }
                } else {
                    Text("Measurement is unavailable.")
                }
            }
        }
    }
}
