package eu.mesure

import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.FlushReport
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.MesureListener
import eu.mesure.ffi.ModeChange
import eu.mesure.ffi.PropertyValue
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.SdkState
import eu.mesure.ffi.Stats
import eu.mesure.ffi.TrackOutcome
import eu.mesure.ffi.VisitorMode
import eu.mesure.ffi.validateConfig
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.suspendCancellableCoroutine
import eu.mesure.ffi.MesureException as FfiException

/**
 * Mesure for one site: start it once (in `Application.onCreate`, through
 * [eu.mesure.android.MesureAndroid] on Android), keep it for the life of the
 * process. Every privacy rule lives in the Rust core; this class adapts it
 * to Kotlin and Java.
 *
 * **Nothing blocks the caller but the waiting operations.** [start]
 * validates the configuration on the caller's thread and returns; the core
 * (SQLite, a directory lock, threads: 1-10 ms) starts on the wrapper's own
 * thread, `mesure-dispatch`. Every call is handed to that thread in the
 * order it was made: `track*` and the mode setters return at once (they
 * convert the properties, enqueue, return), and program order holds, also
 * for calls made before the core is ready, which wait for it in order:
 * `setOptedOut(true); track(...)` always filters that track under opt-out.
 * The waiting operations ([flush], [exportLocalData], [deleteLocalData],
 * [stats], [awaitApplied], [complianceReportMarkdown],
 * [complianceReportJson]) are `suspend` functions, each with a `...Blocking`
 * variant for Java and for code off the main thread; they run after every
 * call made before them.
 *
 * **Nothing throws but the waiting operations**, and [start] for an
 * invalid configuration. A refused event, a property of a type the SDK
 * cannot send, a setter's error: they reach the diagnostics listener, the
 * error listener and the log ([MesureOptions]); strict mode makes them throw
 * instead. A start that failed ([MesureException.StorageInUse], a storage
 * error) is published in [state] and logged; later calls are then ignored
 * (logged, reported to the error listener for setters) and the waiting
 * operations throw the start's error.
 *
 * **Closing.** [close] persists what was accepted and stops; a second call
 * does nothing. After it, `track*` and the setters are ignored (logged once;
 * strict mode throws [MesureException.ShutDown]) and the waiting operations
 * throw [MesureException.ShutDown].
 *
 * **Dry run.** With [MesureConfig.dryRun] hits are built, filtered and
 * reported as `Diagnostic.Sent` with `dryRun = true` (and in the debug log),
 * but nothing is sent and no HTTP client is needed: for trying a tagging
 * plan against the visitor modes.
 */
public class Mesure private constructor(
    private val config: MesureConfig,
    private val options: MesureOptions,
) : AutoCloseable {
    private val log = DebugLog.of(options)
    private val publisher = StatePublisher(
        MesureState(config.defaultMode ?: VisitorMode.Exempt, false, emptyMap(), -1, ready = false, error = null),
    )
    private val dispatcher = Dispatcher(options.queueCapacity, ::tracksDropped) { log.warn("unexpected failure on mesure-dispatch: $it") }

    /** Set while this instance's listener runs an app callback on the SDK's listener thread. */
    private val inCallback = ThreadLocal<Boolean>()
    private val warnedIgnored = AtomicBoolean(false)

    // Confined to the worker thread (a flush gets the core handed over).
    private var core: MesureCore? = null
    private var failure: MesureException? = null
    private var flusher: ExecutorService? = null

    /**
     * The visitor mode, its purposes and whether consent must be asked
     * again, plus whether the SDK is running: collect it to keep a
     * settings screen in sync. Updated when a change is applied and when
     * the core reports one (a consent that lapsed).
     */
    public val state: StateFlow<MesureState> = publisher.flow

    /**
     * Tracks an event (`name`: lower-case letters, digits, `_` and `.`,
     * starting with a letter). Returns at once; never throws (strict mode:
     * see [MesureOptions.Builder.strict]). Property values: String, Int,
     * Long, Short, Byte, Float, Double, Boolean, java.util.Date,
     * java.time.Instant (dates leave as whole seconds since the epoch), or
     * lists and arrays of one of those; a null value is left out; any other
     * type is dropped and reported (`Dropped`, `unsupported_value`). What
     * became of the event reaches the diagnostics listener and the debug log.
     */
    @JvmOverloads
    public fun track(name: String, properties: Map<String, Any?> = emptyMap()) {
        val values = convert("track", properties) ?: return
        if (options.strict) {
            val waiter = Waiter<Unit>()
            return strictTrack("track", EventJob(name, values, waiter), waiter)
        }
        if (!dispatcher.submit(EventJob(name, values, null))) ignoredAfterClose("track")
    }

    /** A screen view: `page.display` with `page = name` (an empty name is refused). As [track]. */
    @JvmOverloads
    public fun trackScreen(name: String, properties: Map<String, Any?> = emptyMap()) {
        val values = convert("trackScreen", properties) ?: return
        if (options.strict) {
            val waiter = Waiter<Unit>()
            return strictTrack("trackScreen", ScreenJob(name, values, waiter), waiter)
        }
        if (!dispatcher.submit(ScreenJob(name, values, null))) ignoredAfterClose("trackScreen")
    }

    /** A click: `click.action`, `.navigation`, `.download` or `.exit` with `click = name` (an empty name is refused). As [track]. */
    @JvmOverloads
    public fun trackClick(kind: ClickKind, name: String, properties: Map<String, Any?> = emptyMap()) {
        val values = convert("trackClick", properties) ?: return
        if (options.strict) {
            val waiter = Waiter<Unit>()
            return strictTrack("trackClick", ClickJob(kind, name, values, waiter), waiter)
        }
        if (!dispatcher.submit(ClickJob(kind, name, values, null))) ignoredAfterClose("trackClick")
    }

    /** Sets the visitor mode. Leaving for opt-out, no-consent or no-storage deletes the visitor id and its queued hits. */
    public fun setMode(mode: VisitorMode): Unit = change("setMode") { it.setMode(mode) }

    /**
     * For a settings switch "Audience measurement": on opts out (the id and
     * its queued hits are deleted); off returns from opt-out to the
     * configured default, and changes nothing otherwise, so a consent
     * given is never dropped by the switch. Returns at once: safe on the
     * main thread.
     */
    public fun setOptedOut(optedOut: Boolean): Unit = change("setOptedOut") { it.setOptedOut(optedOut) }

    /**
     * The answer to a consent prompt (also the one due when
     * [MesureState.consentRenewalNeeded]): granting opts in; declining
     * withdraws a consent given and otherwise records the answer in the
     * current mode (an opt-out stays in force). Returns at once.
     */
    public fun setConsent(granted: Boolean): Unit = change("setConsent") { it.setConsent(granted) }

    /** The answer for one purpose (see [setPurposes]). */
    public fun setPurpose(purpose: String, mode: PurposeMode): Unit = change("setPurpose") { it.setPurpose(purpose, mode) }

    /**
     * A consent-management platform's answers, purpose by purpose (purposes
     * not named keep theirs). Audience measurement's answer decides the
     * visitor mode; a purpose never answered never reads as opt-in. A
     * purpose the configuration does not list is an error
     * ([MesureException.UnknownPurpose], to the error listener).
     */
    public fun setPurposes(answers: Map<String, PurposeMode>) {
        val copy = HashMap(answers)
        change("setPurposes") { it.setPurposes(copy) }
    }

    /** Replaces the device context attached to later hits (connection type changed...). */
    public fun setContext(context: DeviceContext): Unit = change("setContext") { it.setContext(context) }

    /**
     * Persists every accepted hit and uploads now (a backoff is skipped, a
     * server's Retry-After is not). The report counts this attempt only:
     * hits the background uploader sent before it are in [Stats.uploaded],
     * so `uploaded = 0` can mean "already sent". In a dry run, `uploaded`
     * counts the hits it would have sent. Once it returns, every
     * diagnostic of the calls before it has reached the listener.
     */
    @Throws(MesureException::class)
    public suspend fun flush(): FlushReport = ask(offWorker = true) { it.flush() }

    /** [flush], blocking the calling thread (not the main thread: it waits for the network). */
    @Throws(MesureException::class)
    public fun flushBlocking(): FlushReport = askBlocking("flushBlocking", offWorker = true) { it.flush() }

    /** Everything stored on the device, as JSON (right of access). */
    @Throws(MesureException::class)
    public suspend fun exportLocalData(): String = ask { it.exportLocalData() }

    /** [exportLocalData], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun exportLocalDataBlocking(): String = askBlocking("exportLocalDataBlocking") { it.exportLocalData() }

    /**
     * Erases the visitor id, the queue and the history of choices (right to
     * erasure); an opt-out in force stays in force. Returns the number of
     * queued hits deleted.
     */
    @Throws(MesureException::class)
    public suspend fun deleteLocalData(): Long = ask(body = ::delete)

    /** [deleteLocalData], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun deleteLocalDataBlocking(): Long = askBlocking("deleteLocalDataBlocking", body = ::delete)

    /** Counters since the SDK started, including every call made before this one. */
    @Throws(MesureException::class)
    public suspend fun stats(): Stats = ask { it.stats() }

    /** [stats], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun statsBlocking(): Stats = askBlocking("statsBlocking") { it.stats() }

    /** What each visitor mode lets leave the device, from the live configuration, as Markdown. */
    @Throws(MesureException::class)
    public suspend fun complianceReportMarkdown(): String = ask { it.complianceReportMarkdown() }

    /** [complianceReportMarkdown], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun complianceReportMarkdownBlocking(): String = askBlocking("complianceReportMarkdownBlocking") { it.complianceReportMarkdown() }

    /** The compliance report as JSON. */
    @Throws(MesureException::class)
    public suspend fun complianceReportJson(): String = ask { it.complianceReportJson() }

    /** [complianceReportJson], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun complianceReportJsonBlocking(): String = askBlocking("complianceReportJsonBlocking") { it.complianceReportJson() }

    /**
     * Returns once every call made before it has been applied by the core
     * (and [state] shows its result). Diagnostics of those calls may still
     * be on their way to the listener ([flush] waits for them too). Throws
     * [MesureException.ShutDown] after [close] only.
     */
    @Throws(MesureException::class)
    public suspend fun awaitApplied(): Unit = suspendCancellableCoroutine { cont ->
        if (!dispatcher.submit(Barrier(Resumer(cont)))) cont.resumeWithException(shutDown())
    }

    /** [awaitApplied], blocking the calling thread. */
    @Throws(MesureException::class)
    public fun awaitAppliedBlocking() {
        refuseOnSdkThread("awaitAppliedBlocking")
        val waiter = Waiter<Unit>()
        if (!dispatcher.submit(Barrier(waiter))) throw shutDown()
        waiter.await()
    }

    /**
     * Persists everything accepted and stops; waits for it (a few ms, or
     * an upload in progress). A second call does nothing. Called from a
     * diagnostics or error callback it returns at once, and the SDK stops
     * after the calls already made.
     */
    override fun close() {
        val done = Waiter<Unit>()
        if (!dispatcher.close(Shutdown(done))) return
        if (dispatcher.isCurrentThread || inCallback.get() == true) return
        done.await()
    }

    public companion object {
        /**
         * Checks [config] on the calling thread (no I/O) and starts the SDK
         * on its own thread; returns at once. Calls made before the SDK is
         * ready wait for it, in order ([MesureState.ready]).
         * @throws MesureException.InvalidConfig naming the field at fault.
         */
        @JvmStatic
        @JvmOverloads
        @Throws(MesureException::class)
        public fun start(config: MesureConfig, options: MesureOptions = MesureOptions.DEFAULT): Mesure {
            // Before the first call into the bindings, which binds the callbacks.
            val threads = CallbackThreads.register()
            try {
                validateConfig(config)
            } catch (e: FfiException) {
                throw e.toMesure()
            }
            val mesure = Mesure(config, options)
            threads?.let { mesure.log.warn(it) }
            mesure.dispatcher.submit(mesure.Start())
            return mesure
        }
    }

    // --- on the caller's thread -------------------------------------------

    private fun convert(operation: String, properties: Map<String, Any?>): Map<String, PropertyValue>? =
        try {
            properties.toPropertyValues()
        } catch (e: RuntimeException) {
            // A map changed by another thread while it is read: the call is lost, not the app.
            log.warn("$operation ignored: its properties could not be read ($e)")
            null
        }

    private fun strictTrack(operation: String, job: TrackJob, waiter: Waiter<Unit>) {
        job.values.entries.firstOrNull { it.value is PropertyValue.Unsupported }?.let { (key, value) ->
            val type = (value as PropertyValue.Unsupported).typeName
            throw MesureException.TrackRefused(
                "unsupported_value",
                "property \"$key\": a value of type $type cannot be sent: use text, a number, a boolean, a date or a list of one of those",
            )
        }
        refuseOnSdkThread(operation)
        if (!dispatcher.submit(job)) throw shutDown()
        waiter.await()
    }

    private fun change(operation: String, body: (MesureCore) -> Unit) {
        if (options.strict) {
            askBlocking(operation) { c -> body(c); publisher.offer(c.modeStatus()) }
            return
        }
        if (!dispatcher.submit(Change(operation, body))) ignoredAfterClose(operation)
    }

    private suspend fun <T> ask(offWorker: Boolean = false, body: (MesureCore) -> T): T = suspendCancellableCoroutine { cont ->
        if (!dispatcher.submit(Ask(body, Resumer(cont), offWorker))) cont.resumeWithException(shutDown())
    }

    private fun <T> askBlocking(operation: String, offWorker: Boolean = false, body: (MesureCore) -> T): T {
        refuseOnSdkThread(operation)
        val waiter = Waiter<T>()
        if (!dispatcher.submit(Ask(body, waiter, offWorker))) throw shutDown()
        return waiter.await()
    }

    /**
     * A call that waits, from this SDK's own threads, could wait for itself:
     * the wrapper's thread runs the error callback, and the core's waiting
     * operations wait for the listener's thread to deliver what preceded them.
     */
    private fun refuseOnSdkThread(operation: String) {
        if (dispatcher.isCurrentThread || inCallback.get() == true) throw calledFromSdkThread(operation)
    }

    private fun ignoredAfterClose(operation: String) {
        if (options.strict) throw shutDown()
        ignored(operation, shutDown())
    }

    /** Warned once, then in the debug log only: a loop of calls after close must not flood the log. */
    private fun ignored(operation: String, why: MesureException) {
        if (warnedIgnored.compareAndSet(false, true)) {
            log.warn("$operation ignored: ${why.message} (later calls are ignored too; the debug log lists them)")
        } else {
            log.debug { "$operation ignored: ${why.message}" }
        }
    }

    // --- on the worker thread ----------------------------------------------

    private fun delete(c: MesureCore): Long {
        val deleted = c.deleteLocalData()
        publisher.offer(c.modeStatus())
        return deleted
    }

    private fun reportError(error: MesureException) {
        val listener = options.onError ?: return
        try {
            listener.onError(error)
        } catch (t: Throwable) {
            log.warn("the error listener threw: $t")
        }
    }

    private fun deliver(diagnostic: Diagnostic) {
        val listener = options.onDiagnostic ?: return
        val outer = inCallback.get()
        inCallback.set(true)
        try {
            listener.onDiagnostic(diagnostic)
        } catch (t: Throwable) {
            log.warn("the diagnostics listener threw: $t")
        } finally {
            inCallback.set(outer)
        }
    }

    private fun tracksDropped(count: Long) {
        log.warn("$count track call(s) dropped: more than ${options.queueCapacity} tracks were waiting for the SDK (backpressure)")
        deliver(Diagnostic.Backpressure(count))
    }

    private fun flushThread(): ExecutorService = flusher ?: Executors.newSingleThreadExecutor { r ->
        Thread(r, "mesure-flush").apply { isDaemon = true }
    }.also { flusher = it }

    private inner class Start : Dispatcher.Job() {
        override fun run() {
            try {
                val c = MesureCore(config, Listener(), options.httpClient, options.clock)
                try {
                    c.waitStarted()
                } catch (e: FfiException) {
                    c.stop()
                    c.close()
                    throw e
                }
                core = c
                publisher.ready(c.modeStatus())
                log.debug {
                    val dry = if (config.dryRun) "; dry run: nothing will be sent" else ""
                    "[mesure ${config.siteId}] started in mode ${state.value.mode}$dry"
                }
            } catch (e: FfiException) {
                val error = e.toMesure()
                failure = error
                publisher.stopped(error)
                log.warn("Mesure did not start: ${error.message}")
                reportError(error)
            }
        }
    }

    /** The core's listener: the state, the debug log, then the app's listener. */
    private inner class Listener : MesureListener {
        override fun onModeChanged(change: ModeChange, logLine: String) {
            publisher.offer(change)
            log.debug { logLine }
        }

        override fun onState(state: SdkState, logLine: String) {}

        override fun onDiagnostic(diagnostic: Diagnostic, logLine: String) {
            log.debug { logLine }
            deliver(diagnostic)
        }
    }

    private abstract inner class TrackJob(val values: Map<String, PropertyValue>, val reply: Reply<Unit>?) : Dispatcher.Job() {
        override val droppable: Boolean get() = true

        abstract fun send(c: MesureCore): TrackOutcome

        override fun dropped() {
            reply?.fail(MesureException.TrackRefused("queue_full", "the call was dropped: more than ${options.queueCapacity} tracks were waiting for the SDK"))
        }

        override fun run() {
            val c = core
            if (c == null) {
                val why = failure ?: shutDown()
                if (reply != null) reply.fail(why) else ignored("track", why)
                return
            }
            // Refusals reach the listener and the debug log from the core itself.
            when (val outcome = send(c)) {
                is TrackOutcome.Refused -> reply?.fail(MesureException.TrackRefused(outcome.reason, outcome.message))
                else -> reply?.ok(Unit)
            }
        }
    }

    private inner class EventJob(private val name: String, values: Map<String, PropertyValue>, reply: Reply<Unit>?) : TrackJob(values, reply) {
        override fun send(c: MesureCore): TrackOutcome = c.track(name, values)
    }

    private inner class ScreenJob(private val name: String, values: Map<String, PropertyValue>, reply: Reply<Unit>?) : TrackJob(values, reply) {
        override fun send(c: MesureCore): TrackOutcome = c.trackScreen(name, values)
    }

    private inner class ClickJob(
        private val kind: ClickKind,
        private val name: String,
        values: Map<String, PropertyValue>,
        reply: Reply<Unit>?,
    ) : TrackJob(values, reply) {
        override fun send(c: MesureCore): TrackOutcome = c.trackClick(kind, name, values)
    }

    private inner class Change(private val operation: String, private val body: (MesureCore) -> Unit) : Dispatcher.Job() {
        override fun run() {
            val c = core
            if (c == null) {
                val why = failure ?: shutDown()
                ignored(operation, why)
                reportError(why)
                return
            }
            try {
                body(c)
                publisher.offer(c.modeStatus())
            } catch (e: FfiException) {
                val error = e.toMesure()
                log.warn("$operation failed: ${error.message}")
                reportError(error)
            }
        }
    }

    private inner class Ask<T>(
        private val body: (MesureCore) -> T,
        private val reply: Reply<T>,
        private val offWorker: Boolean,
    ) : Dispatcher.Job() {
        override fun run() {
            val c = core ?: return reply.fail(failure ?: shutDown())
            // A flush waits for the network: the calls behind it must not.
            if (offWorker) flushThread().execute { answer(c) } else answer(c)
        }

        private fun answer(c: MesureCore) {
            try {
                reply.ok(body(c))
            } catch (e: FfiException) {
                reply.fail(e.toMesure())
            } catch (t: Throwable) {
                reply.fail(t)
            }
        }
    }

    private class Barrier(private val reply: Reply<Unit>) : Dispatcher.Job() {
        override fun run() = reply.ok(Unit)
    }

    private inner class Shutdown(private val done: Waiter<Unit>) : Dispatcher.Job() {
        override fun run() {
            val closed = shutDown()
            val c = core
            core = null
            failure = closed
            try {
                if (c != null) {
                    try {
                        c.shutdown()
                    } catch (e: FfiException) {
                        log.warn("close: ${e.toMesure().message}")
                    }
                    // Freed after a flush in progress on the flush thread, if any.
                    val f = flusher
                    if (f == null) c.close() else f.execute { c.close() }
                    f?.shutdown()
                }
                publisher.stopped(closed)
                log.debug { "[mesure ${config.siteId}] closed" }
            } finally {
                done.ok(Unit)
            }
        }
    }
}

/** Where a waiting call's answer goes. */
internal abstract class Reply<T> {
    abstract fun ok(value: T)
    abstract fun fail(error: Throwable)
}

/** A caller blocked until the answer comes (not interruptible: the answer always comes). */
internal class Waiter<T> : Reply<T>() {
    private val done = CountDownLatch(1)

    @Volatile
    private var value: T? = null

    @Volatile
    private var error: Throwable? = null

    override fun ok(value: T) {
        this.value = value
        done.countDown()
    }

    override fun fail(error: Throwable) {
        this.error = error
        done.countDown()
    }

    fun await(): T {
        var interrupted = false
        while (true) {
            try {
                done.await()
                break
            } catch (_: InterruptedException) {
                interrupted = true
            }
        }
        if (interrupted) Thread.currentThread().interrupt()
        error?.let { throw it }
        @Suppress("UNCHECKED_CAST")
        return value as T
    }
}

/** A coroutine suspended until the answer comes. */
internal class Resumer<T>(private val cont: CancellableContinuation<T>) : Reply<T>() {
    override fun ok(value: T) = cont.resume(value)
    override fun fail(error: Throwable) = cont.resumeWithException(error)
}
