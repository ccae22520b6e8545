// The smallest app around SettingsView. Not compiled here (see SettingsView.swift).

import Mesure
import SwiftUI

@main
struct ExampleApp: App {
    // Started once, on the main thread (so the device type and screen size
    // are known from the first hit). Measurement must never stop the app:
    // if it cannot start, the app runs unmeasured.
    private let sdk: MesureSDK? = {
        do {
            return try MesureSDK.start(collectEndpoint: "https://collect.example.com", siteId: 42)
        } catch {
            print("Mesure is off: \(error)")
            return nil
        }
    }()

    var body: some Scene {
        WindowGroup {
            NavigationStack {
                if let sdk {
                    SettingsView(sdk: sdk)
                        .onAppear { _ = try? sdk.trackScreen("settings") }
                } else {
                    Text("Measurement is unavailable.")
                }
            }
        }
    }
}
