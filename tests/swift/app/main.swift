// An app on Linux using Mesure as an app would: `import Mesure` alone, a
// dry run (nothing leaves, no collector needed), a few calls, one line out.
import Foundation
import Mesure

let storage = FileManager.default.temporaryDirectory.appendingPathComponent("mesure-app-\(UUID().uuidString)")
let sdk = try MesureSDK.start(siteId: 615_000, options: MesureSDK.Options(storageDirectory: storage)) { platform in
    MesureConfig(collectEndpoint: "https://collect.example.com", siteId: platform.siteId, storageDir: platform.storageDir,
                 context: platform.context, dryRun: true)
}
sdk.trackScreen("home", ["page_chapter1": "news"])
sdk.trackClick(.navigation, "open_article")
let report = try await sdk.flush()
sdk.setOptedOut(true)
try await sdk.awaitApplied()
let mode = sdk.state.mode
await sdk.closeAndWait()
try? FileManager.default.removeItem(at: storage)
print("mesure-app: \(MesureSDK.version), \(report.uploaded) hits built in a dry run, then \(mode)")
