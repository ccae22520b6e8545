package eu.mesure

import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.ConsentContext
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.FlushReport
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.MesureListener
import eu.mesure.ffi.ModeChange
import eu.mesure.ffi.PropertyValue
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.RunState
import eu.mesure.ffi.SdkState
import eu.mesure.ffi.Stats
import eu.mesure.ffi.TrackOutcome
import eu.mesure.ffi.VisitorMode
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.withContext

/**
 * Mesure for one site: start it once (in `Application.onCreate`, through
 * [eu.mesure.android.MesureAndroid] on Android), keep it for the life of the
 * process. Every privacy rule, and the order of the calls, lives in the Rust
 * core; this class adapts it to Kotlin and Java and has no thread of its own.
 *
 * **Nothing blocks the caller but the waiting operations.** [start] validates
 * the configuration and claims the storage directory on the caller's thread
 * and returns; the core opens its store on its own thread. `track*` and the
 * setters call the core on the caller's thread and return at once; calls made
 * before the store is open wait for it in the core, in order:
 * `setOptedOut(true); track(...)` always filters that track under opt-out.
 * The waiting operations ([flush], [exportLocalData], [deleteLocalData],
 * [stats], [awaitApplied]) are `suspend` functions (run on
 * `Dispatchers.IO`), each with a `...Blocking` variant for Java and for code
 * off the main thread; they wait for the start and for the calls before them.
 *
 * **Nothing throws but the waiting operations**, and [start] (an invalid
 * configuration, a directory another instance uses). A refused event, a
 * property of a type the SDK cannot send: the core reports them to the
 * diagnostics listener and the debug log; a setter's error goes to the error
 * listener ([MesureOptions]); strict mode throws them instead. A start that
 * failed on the core's thread (storage) is published in [state]; later calls
 * are then ignored and the waiting operations throw the start's error.
 *
 * **Closing.** [close] stops after the calls already made and returns at
 * once; [closeAndWait] also waits for the end. After either, `track*` and the
 * setters are ignored (logged once; strict mode throws
 * [MesureException.ShutDown]) and the waiting operations throw
 * [MesureException.ShutDown].
 *
 * **Dry run.** With [MesureConfig.dryRun] hits are built, filtered and
 * reported as `Diagnostic.Sent` with `dryRun = true` (and in the debug log),
 * but nothing is sent and no HTTP client is needed.
 */
public class Mesure private constructor(config: MesureConfig, private val options: MesureOptions) : AutoCloseable {
    private val log = DebugLog.of(options)
    private val published = MutableStateFlow(MesureState(config.defaultMode ?: VisitorMode.Exempt, false, emptyMap(), 0, RunState.Starting))
    private val warnedIgnored = AtomicBoolean(false)
    private val core = MesureCore(config.copy(strict = config.strict || options.strict), Listener(), options.httpClient, options.clock)
    private val callKey = core.callKey().toLong()

    /**
     * What the core published last ([MesureState]): the visitor mode, its
     * purposes, whether consent must be asked again, and whether the SDK
     * runs. Collect it to keep a settings screen in sync.
     */
    public val state: StateFlow<MesureState> = published.asStateFlow()

    /**
     * Tracks an event (`name`: lower-case letters, digits, `_` and `.`,
     * starting with a letter). Returns at once; never throws (strict mode:
     * see [MesureOptions.Builder.strict]). Property values, converted as on
     * iOS (docs/PROPERTIES.md): String, the integer types (signed and
     * unsigned), Float, Double, Boolean, java.util.Date, java.time.Instant
     * (dates leave as whole seconds since the epoch), collections (sets
     * sorted) and arrays of one of those, [PropertyConvertible]; a null
     * value is left out; any other type is dropped and reported (`Dropped`,
     * `unsupported_value`). What became of the event reaches the
     * diagnostics listener and the debug log.
     */
    @JvmOverloads
    public fun track(name: String, properties: Map<String, Any?> = emptyMap()) {
        send("track", EncodedCall.TRACK, name, properties)
    }

    /** A screen view: `page.display` with `page = name` (an empty name is refused). As [track]. */
    @JvmOverloads
    public fun trackScreen(name: String, properties: Map<String, Any?> = emptyMap()) {
        send("trackScreen", EncodedCall.SCREEN, name, properties)
    }

    /** A click: `click.action`, `.navigation`, `.download` or `.exit` with `click = name` (an empty name is refused). As [track]. */
    @JvmOverloads
    public fun trackClick(kind: ClickKind, name: String, properties: Map<String, Any?> = emptyMap()) {
        send("trackClick", EncodedCall.click(kind), name, properties)
    }

    /**
     * Sets the visitor mode. Leaving for opt-out, no-consent or no-storage
     * deletes the visitor id and its queued hits. [prompt]: the consent
     * prompt the visitor answered, as for [setConsent].
     */
    @JvmOverloads
    public fun setMode(mode: VisitorMode, prompt: ConsentContext? = null): Unit = change("setMode") { core.setMode(mode, prompt) }

    /**
     * For a settings switch "Audience measurement": on opts out (the id and
     * its queued hits are deleted); off returns from opt-out to the
     * configured default, and changes nothing otherwise, so a consent
     * given is never dropped by the switch. Returns at once: safe on the
     * main thread.
     */
    public fun setOptedOut(optedOut: Boolean): Unit = change("setOptedOut") { core.setOptedOut(optedOut) }

    /**
     * The answer to a consent prompt (also the one due when
     * [MesureState.consentRenewalNeeded]): granting opts in; declining
     * withdraws a consent given and otherwise records the answer in the
     * current mode (an opt-out stays in force). Returns at once.
     *
     * [prompt]: the prompt it was answered in, as the app names it
     * (`ConsentContext("main_banner", "2026-12", "fr-FR")`): its id,
     * version and locale go into the consent receipt ([consentProof]), its
     * id and version into the anonymous consent statistics. A prompt named
     * with anything but letters, digits and `. _ : / -` (an e-mail address,
     * a phone number) is refused, and nothing is recorded:
     * [MesureException.InvalidConfig] naming `prompt.prompt_id`,
     * `prompt.prompt_version` or `prompt.locale`, to the error listener
     * (strict mode: thrown).
     */
    @JvmOverloads
    public fun setConsent(granted: Boolean, prompt: ConsentContext? = null): Unit = change("setConsent") { core.setConsent(granted, prompt) }

    /** The answer for one purpose (see [setPurposes]). */
    public fun setPurpose(purpose: String, mode: PurposeMode): Unit = change("setPurpose") { core.setPurpose(purpose, mode) }

    /**
     * A consent-management platform's answers, purpose by purpose (purposes
     * not named keep theirs). Audience measurement's answer decides the
     * visitor mode; a purpose never answered never reads as opt-in. A
     * purpose the configuration does not list is an error
     * ([MesureException.UnknownPurpose], to the error listener). [prompt]:
     * the consent prompt the answers were given in, as for [setConsent].
     */
    @JvmOverloads
    public fun setPurposes(answers: Map<String, PurposeMode>, prompt: ConsentContext? = null): Unit =
        change("setPurposes") { core.setPurposes(HashMap(answers), prompt) }

    /**
     * The consent prompt [prompt] was shown to the visitor: counted by the
     * anonymous consent statistics (per prompt version and day, no id of
     * any kind), unless they are off. A badly named prompt is refused as in
     * [setConsent]. Returns at once.
     */
    public fun consentPromptShown(prompt: ConsentContext): Unit = change("consentPromptShown") { core.consentPromptShown(prompt) }

    /**
     * The visitor's own switch of the consent statistics (for a settings
     * screen): off deletes the counts not sent and counts nothing more on
     * this device, across restarts; on counts again, unless the
     * configuration has them off ([ConsentSettings.statistics]). Consent
     * receipts are not affected. Returns at once.
     */
    public fun setConsentStatistics(enabled: Boolean): Unit = change("setConsentStatistics") { core.setConsentStatistics(enabled) }

    /** Replaces the device context attached to later hits (connection type changed...). */
    public fun setContext(context: DeviceContext): Unit = change("setContext") { core.setContext(context) }

    /**
     * Persists every accepted hit and uploads now (a backoff is skipped, a
     * server's Retry-After is not). The report counts this attempt only:
     * hits the background uploader sent before it are in [Stats.uploaded],
     * so `uploaded = 0` can mean "already sent". In a dry run, `uploaded`
     * counts the hits it would have sent. Once it returns, every
     * diagnostic of the calls before it has reached the listener.
     */
    @Throws(MesureException::class)
    public suspend fun flush(): FlushReport = withContext(Dispatchers.IO) { flushBlocking() }

    /** [flush], blocking the calling thread (not the main thread: it waits for the network). */
    @Throws(MesureException::class)
    public fun flushBlocking(): FlushReport = core.flush()

    /** Everything stored on the device, as JSON (right of access). */
    @Throws(MesureException::class)
    public suspend fun exportLocalData(): String = withContext(Dispatchers.IO) { exportLocalDataBlocking() }

    /** [exportLocalData], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun exportLocalDataBlocking(): String = core.exportLocalData()

    /**
     * The proof of every consent the visitor gave or withdrew on this device
     * (JSON a controller can file): the consent-proof id, whether the
     * receipts' hash chain is intact, and the receipts, oldest first.
     */
    public suspend fun consentProof(): String = withContext(Dispatchers.IO) { consentProofBlocking() }

    /** [consentProof], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun consentProofBlocking(): String = core.consentProof()

    /**
     * Erases the visitor id, the queue and the history of choices (right to
     * erasure). A consent goes with the record that proves it: opt-in (or a
     * custom mode) returns to the configured default mode, every purpose's
     * answer is forgotten, and [state] shows the change. An opt-out (or
     * no-consent, no-storage) in force stays in force. Returns the number
     * of queued hits deleted.
     */
    @Throws(MesureException::class)
    public suspend fun deleteLocalData(): Long = withContext(Dispatchers.IO) { deleteLocalDataBlocking() }

    /** [deleteLocalData], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun deleteLocalDataBlocking(): Long = core.deleteLocalData()

    /** Counters since the SDK started, including every call made before this one. */
    @Throws(MesureException::class)
    public suspend fun stats(): Stats = withContext(Dispatchers.IO) { statsBlocking() }

    /** [stats], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun statsBlocking(): Stats {
        core.awaitApplied()
        return core.stats()
    }

    /** What each visitor mode lets leave the device, from the configuration, as Markdown. Never blocks. */
    public fun complianceReportMarkdown(): String = core.complianceReportMarkdown()

    /** The compliance report as JSON. Never blocks. */
    public fun complianceReportJson(): String = core.complianceReportJson()

    /**
     * Returns once every call made before it has been applied and persisted
     * by the core, and its effects ([state] included) reached the listener.
     * Throws the start's error if it failed, [MesureException.ShutDown] after
     * close.
     */
    @Throws(MesureException::class)
    public suspend fun awaitApplied(): Unit = withContext(Dispatchers.IO) { awaitAppliedBlocking() }

    /** [awaitApplied], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun awaitAppliedBlocking(): Unit = core.awaitApplied()

    /**
     * Stops the SDK after the calls already made, and RETURNS AT ONCE (it
     * never blocks, also from `use {}`): what was accepted is persisted on the
     * core's threads. A second call does nothing. To wait for the end (before
     * starting again on the same directory, say), use [closeAndWait].
     */
    override fun close() {
        core.stop()
    }

    /**
     * [close], then waits until the SDK has persisted everything and stopped
     * (a few ms, or an upload in progress). From a listener callback it
     * returns at once.
     */
    public fun closeAndWait() {
        try {
            core.shutdown()
        } catch (e: MesureException) {
            log.warn("closeAndWait: $e")
        }
    }

    public companion object {
        /**
         * Checks [config] and claims its storage directory on the calling
         * thread (no I/O) and returns at once; the core opens its store on
         * its own thread. Calls made before that wait for it, in order.
         * @throws MesureException.InvalidConfig naming the field at fault.
         * @throws MesureException.StorageInUse if another instance of this
         *   process uses the directory (always the second of two starts).
         */
        @JvmStatic
        @JvmOverloads
        @Throws(MesureException::class)
        public fun start(config: MesureConfig, options: MesureOptions = MesureOptions.DEFAULT): Mesure {
            // Before the first call into the bindings, which binds the callbacks.
            val threads = CallbackThreads.register()
            return Mesure(config, options).also { mesure -> threads?.let { mesure.log.warn(it) } }
        }
    }

    /**
     * Converts the properties (docs/PROPERTIES.md) into one buffer with the
     * call and hands it to the core in one FFI call; a refusal's details
     * are taken from the core only when there is one.
     */
    private fun send(operation: String, kind: Int, name: String, properties: Map<String, Any?>) {
        val call = EncodedCall(kind, name)
        try {
            for (entry in properties.entries) {
                val value = propertyValue(entry.value ?: continue) ?: continue
                if (options.strict && value is PropertyValue.Unsupported) {
                    throw MesureException.TrackRefused(
                        "unsupported_value",
                        "property \"${entry.key}\": a value of type ${value.typeName} cannot be sent: use text, a number, a boolean, a date or a list of one of those",
                    )
                }
                call.property(entry.key, value)
            }
        } catch (e: MesureException) {
            throw e
        } catch (e: RuntimeException) {
            // A map changed by another thread while it is read: the call is lost, not the app.
            log.warn("$operation ignored: its properties could not be read ($e)")
            return
        }
        val answer = call.send(callKey)
        if (answer >= 0) return
        val refusal = when (answer) {
            EncodedCall.GONE -> TrackOutcome.Refused("shut_down", "the SDK is shut down")
            EncodedCall.PANICKED -> return log.warn("$operation lost: the core failed on it")
            else -> core.takeRefusal(-answer) ?: return
        }
        outcome(operation, refusal)
    }

    /** A refusal was reported by the core (listener, debug log): strict mode throws it, and a closed SDK says so once. */
    private fun outcome(operation: String, outcome: TrackOutcome) {
        if (outcome !is TrackOutcome.Refused) return
        val error = when (outcome.reason) {
            "shut_down" -> MesureException.ShutDown()
            "not_started" -> startError()
            else -> MesureException.TrackRefused(outcome.reason, outcome.message)
        }
        if (options.strict) throw error
        if (error !is MesureException.TrackRefused) ignored(operation, error)
    }

    private inline fun change(operation: String, body: () -> Unit) {
        try {
            body()
        } catch (e: MesureException) {
            val error = if (e is MesureException.NotStarted) startError() else e
            if (options.strict) throw error
            // After close, ignored; after a failed start too, whose error the app is told of (again).
            if (e is MesureException.ShutDown || e is MesureException.NotStarted) ignored(operation, error) else log.warn("$operation failed: $error")
            if (e !is MesureException.ShutDown) reportError(error)
        }
    }

    /** The failed start's own error, from the published state. */
    private fun startError(): MesureException = state.value.error ?: MesureException.NotStarted()

    /** Warned once, then in the debug log only: a loop of calls after close must not flood the log. */
    private fun ignored(operation: String, why: MesureException) {
        if (warnedIgnored.compareAndSet(false, true)) {
            val what = if (why is MesureException.ShutDown) "ignored after close" else "ignored: $why"
            log.warn("$operation $what (later calls are ignored too; the debug log lists them)")
        } else {
            log.debug { "$operation ignored: $why" }
        }
    }

    private fun reportError(error: MesureException) {
        try {
            options.onError?.onError(error)
        } catch (t: Throwable) {
            log.warn("the error listener threw: $t")
        }
    }

    /** The core's listener: the state, the debug log (the core's lines), then the app's listener. */
    private inner class Listener : MesureListener {
        override fun onModeChanged(change: ModeChange, logLine: String) = log.debug { logLine }

        override fun onState(state: SdkState, logLine: String) {
            // Logged and reported first: whoever sees the failed state in the flow can count on both.
            val run = state.run
            if (run is RunState.Failed) {
                log.warn(logLine)
                reportError(run.error)
            } else if (run::class != published.value.run::class) {
                log.debug { logLine }
            }
            published.value = MesureState(state.mode, state.consentRenewalNeeded, state.purposes, state.epoch, run)
        }

        override fun onDiagnostic(diagnostic: Diagnostic, logLine: String) {
            log.debug { logLine }
            try {
                options.onDiagnostic?.onDiagnostic(diagnostic)
            } catch (t: Throwable) {
                log.warn("the diagnostics listener threw: $t")
            }
        }
    }
}
