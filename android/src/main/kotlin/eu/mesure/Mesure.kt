package eu.mesure

import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.FlushReport
import eu.mesure.ffi.MesureClock
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureListener
import eu.mesure.ffi.ModeChange
import eu.mesure.ffi.ModeStatus
import eu.mesure.ffi.PlatformHttpClient
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.Stats
import eu.mesure.ffi.TrackOutcome
import eu.mesure.ffi.VisitorMode
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import eu.mesure.ffi.MesureCore as Core

/**
 * The app's entry point to Mesure: one per process.
 *
 * Every privacy rule (what each visitor mode lets leave the device, the
 * 13-month visitor id, consent expiry, the offline queue) lives in the Rust
 * core; this class only adapts it to Kotlin: a [StateFlow] of the visitor mode
 * for settings screens, `Map<String, Any?>` properties, and [AutoCloseable].
 *
 * `track*` never block on disk or network. [flush], [exportLocalData] and
 * [deleteLocalData] do: call them off the main thread.
 */
class Mesure private constructor(
    private val core: Core,
    private val published: Published,
) : AutoCloseable {

    /** The visitor mode in force; collect it to keep a settings toggle in sync. */
    val mode: StateFlow<VisitorMode> = published.flow.asStateFlow()

    /** The mode with its dates, and whether consent must be asked again. */
    val modeStatus: ModeStatus get() = core.modeStatus()

    /** Tracks an event. Property values: String, Int, Long, Float, Double, Boolean, java.util.Date, java.time.Instant, or lists of one of those. */
    fun track(name: String, properties: Map<String, Any?> = emptyMap()): TrackOutcome =
        core.track(name, properties.toPropertyValues())

    /** A screen view (`page.display`, `page = name`). */
    fun trackScreen(name: String, properties: Map<String, Any?> = emptyMap()): TrackOutcome =
        core.trackScreen(name, properties.toPropertyValues())

    /** A click (`click.action`, `click.navigation`, `click.download`, `click.exit`). */
    fun trackClick(kind: ClickKind, name: String, properties: Map<String, Any?> = emptyMap()): TrackOutcome =
        core.trackClick(kind, name, properties.toPropertyValues())

    fun setMode(mode: VisitorMode): Unit = publish { core.setMode(mode) }

    /**
     * For a settings switch "Audience measurement": on opts out (the id and
     * its queued hits are deleted); off returns from opt-out to the configured
     * default mode, and changes nothing otherwise, so a consent given (opt-in)
     * is never dropped by a switch. Decided by the core, as on iOS.
     */
    fun setOptedOut(optedOut: Boolean): Unit = publish { core.setOptedOut(optedOut) }

    /**
     * For a consent prompt (also the one due when [modeStatus] says
     * `consentRenewalNeeded`): granting opts in; declining withdraws a consent
     * given and otherwise records the answer in the current mode (an opt-out
     * stays in force), which also settles a pending renewal.
     */
    fun setConsent(granted: Boolean): Unit = publish { core.setConsent(granted) }

    /**
     * A consent-management platform's answers, purpose by purpose (purposes
     * not named keep theirs). Audience measurement's answer decides the
     * visitor mode; a purpose never answered never reads as opt-in.
     * @throws eu.mesure.ffi.MesureException.UnknownPurpose for a purpose the configuration does not list.
     */
    fun setPurposes(answers: Map<String, PurposeMode>): Unit = publish { core.setPurposes(answers) }

    /** The answer for one purpose. */
    fun setPurpose(purpose: String, mode: PurposeMode): Unit = publish { core.setPurpose(purpose, mode) }

    /** Every configured purpose's mode, `audience_measurement` included. */
    val purposes: Map<String, PurposeMode> get() = core.purposes()

    /** Runs a mode change, then shows its result at once (the listener confirms later, from its own thread). */
    private fun <T> publish(change: () -> T): T {
        val result = change()
        published.offer(core.modeStatus())
        return result
    }

    fun setContext(context: eu.mesure.ffi.DeviceContext) = core.setContext(context)

    /** Persists everything and uploads now. Blocks. */
    fun flush(): FlushReport = core.flush()

    /** Everything stored on the device, as JSON (right of access). Blocks. */
    fun exportLocalData(): String = core.exportLocalData()

    /** Erases the id, the queue and the history of choices (right to erasure). Blocks. */
    fun deleteLocalData(): Long = publish { core.deleteLocalData() }

    fun complianceReportMarkdown(): String = core.complianceReportMarkdown()

    fun stats(): Stats = core.stats()

    /** Persists everything accepted and stops; the object is unusable afterwards. */
    override fun close() {
        try {
            core.shutdown()
        } finally {
            core.close()
        }
    }

    companion object {
        /**
         * Starts the SDK. [httpClient]: the platform client (required on
         * Android builds, which carry no Rust HTTP client); [onDiagnostic]:
         * held-back properties and other reports, on the SDK's storage thread;
         * [clock]: tests only.
         */
        @JvmStatic
        @JvmOverloads
        fun start(
            config: MesureConfig,
            httpClient: PlatformHttpClient? = null,
            onDiagnostic: ((Diagnostic) -> Unit)? = null,
            clock: MesureClock? = null,
        ): Mesure {
            val published = Published(config.defaultMode ?: VisitorMode.Exempt)
            val listener = object : MesureListener {
                override fun onModeChanged(change: ModeChange) {
                    published.offer(change.current, change.epoch)
                }

                override fun onDiagnostic(diagnostic: Diagnostic) {
                    onDiagnostic?.invoke(diagnostic)
                }
            }
            val core = Core(config, listener, httpClient, clock)
            published.offer(core.modeStatus())
            return Mesure(core, published)
        }
    }

    /**
     * The published mode and the epoch it came with. The caller of a change
     * and the SDK's listener thread both publish; a state older than the one
     * shown (a lower epoch) is ignored, so two quick changes never flip the
     * mode back.
     */
    internal class Published(initial: VisitorMode) {
        val flow = MutableStateFlow(initial)
        private var epoch = 0L

        fun offer(status: ModeStatus) = offer(status.mode, status.epoch)

        @Synchronized
        fun offer(mode: VisitorMode, epoch: Long) {
            if (epoch >= this.epoch) {
                this.epoch = epoch
                flow.value = mode
            }
        }
    }
}
