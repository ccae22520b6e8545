package eu.mesure.sample

import android.app.Application
import android.util.Log
import eu.mesure.ConsentSettings
import eu.mesure.Mesure
import eu.mesure.MesureOptions
import eu.mesure.android.MesureAndroid

/** Starts Mesure once, in the main process, without blocking the main thread. */
class SampleApp : Application() {
    /** Null in any process but the main one. */
    var mesure: Mesure? = null
        private set

    override fun onCreate() {
        super.onCreate()
        val config = MesureAndroid.config(this, "https://collect.example.com", siteId = 615_000)
            // A debug build sends nothing: hits are built, filtered and logged only.
            .dryRun(BuildConfig.DEBUG)
            // Where the consent receipts and the anonymous consent statistics go (none: they stay on the device).
            .consent(ConsentSettings(endpoint = "https://consent.example.com/v1"))
            .build()
        val options = MesureOptions.builder()
            .debugLog(BuildConfig.DEBUG)
            .onError { e -> Log.w("Sample", "Mesure: $e") }
            .build()
        mesure = MesureAndroid.start(this, config, options)
        mesure?.trackScreen("launch")
    }
}
