package eu.mesure.tests

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import eu.mesure.DiagnosticListener
import eu.mesure.LogLevel
import eu.mesure.LogSink
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.HttpRequest
import eu.mesure.ffi.MesureClock
import eu.mesure.ffi.MesureListener
import eu.mesure.ffi.SdkState
import eu.mesure.ffi.ModeChange
import eu.mesure.ffi.PlatformHttpClient
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.UploadCompletion
import java.io.File
import java.net.HttpURLConnection
import java.net.URL
import java.nio.file.Files
import java.util.Collections
import java.util.UUID
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong

/** Shared fixtures of the Kotlin suite. Everything here talks to the real library. */
object Env {
    /** The loopback collector process started by `cargo xtask test-kotlin`. */
    val collectorUrl: String = System.getenv("MESURE_COLLECTOR_URL")
        ?: error("MESURE_COLLECTOR_URL is not set: run the suite with `cargo xtask test-kotlin`")
    val vectorsDir: File = File(System.getenv("MESURE_VECTORS_DIR") ?: "tests/vectors")

    fun tempDir(): String = Files.createTempDirectory("mesure-kt").toFile().absolutePath

    /**
     * How many times each concurrency test runs its scenario in one JVM
     * (`MESURE_TEST_REPEAT`, 1 by default): 20 under `stress-ng --cpu 2`
     * before a concurrency test is committed.
     */
    val repeat: Int = System.getenv("MESURE_TEST_REPEAT")?.toIntOrNull() ?: 1

    /** A configuration against the loopback collector, with no background upload during a test. */
    fun config(siteId: Long = 7, dir: String = tempDir()) = MesureConfig(
        collectEndpoint = collectorUrl,
        siteId = siteId,
        storageDir = dir,
        flushIntervalMs = 3_600_000L,
        // A full batch wakes the uploader: 500 keeps a test's bursts queued (the default, 50, would send them).
        batchSize = 500,
        requestTimeoutMs = 2_000L,
    )
}

/** [use], but closing with [eu.mesure.Mesure.closeAndWait]: for a test that starts again on the same directory. */
fun <R> eu.mesure.Mesure.useAndWait(block: (eu.mesure.Mesure) -> R): R = try {
    block(this)
} finally {
    closeAndWait()
}

/** Options built in one expression. */
fun options(block: eu.mesure.MesureOptions.Builder.() -> Unit = {}): eu.mesure.MesureOptions =
    eu.mesure.MesureOptions.builder().apply(block).build()

/** Runs a concurrency scenario [Env.repeat] times, naming the round that failed. */
fun repeated(scenario: (round: Int) -> Unit) {
    for (round in 1..Env.repeat) {
        try {
            scenario(round)
        } catch (e: Throwable) {
            throw AssertionError("round $round of ${Env.repeat}: $e", e)
        }
    }
}

/** The diagnostics an app receives, with the thread each arrived on. */
class Diagnostics : DiagnosticListener {
    val all: MutableList<Diagnostic> = Collections.synchronizedList(mutableListOf())
    val threads: MutableList<Thread> = Collections.synchronizedList(mutableListOf())
    override fun onDiagnostic(diagnostic: Diagnostic) {
        threads += Thread.currentThread()
        all += diagnostic
    }
    fun snapshot(): List<Diagnostic> = synchronized(all) { all.toList() }
    fun dropped(): List<Diagnostic.Dropped> = snapshot().filterIsInstance<Diagnostic.Dropped>()
    fun refused(): List<Diagnostic.TrackRefused> = snapshot().filterIsInstance<Diagnostic.TrackRefused>()
    fun sent(): List<Diagnostic.Sent> = snapshot().filterIsInstance<Diagnostic.Sent>()
}

/** The log lines the SDK writes. */
class LogLines : LogSink {
    val lines: MutableList<Pair<LogLevel, String>> = Collections.synchronizedList(mutableListOf())
    override fun log(level: LogLevel, message: String) { lines += level to message }
    fun at(level: LogLevel): List<String> = synchronized(lines) { lines.filter { it.first == level }.map { it.second } }
}

/**
 * A clock that holds the SDK's threads until [open]: the core reads the
 * clock while it starts, so a start with it is slow on purpose, for as long
 * as the test wants (no sleep). [reached] counts down once an SDK thread
 * waits. The thread that built the gate, the test's, is never held: a call
 * the test makes reads the clock to date itself, and must not wait for the
 * start it is testing.
 */
class GatedClock : MesureClock {
    private val gate = CountDownLatch(1)
    private val owner = Thread.currentThread()
    val reached = CountDownLatch(1)
    override fun nowMs(): Long {
        if (Thread.currentThread() != owner) {
            reached.countDown()
            check(gate.await(60, TimeUnit.SECONDS)) { "the test never opened the clock's gate" }
        }
        return System.currentTimeMillis()
    }
    fun open() = gate.countDown()
}

/** Waits for [latch] with a generous deadline; fails the test past it. */
fun awaitLatch(latch: CountDownLatch, what: String) {
    check(latch.await(30, TimeUnit.SECONDS)) { "timed out waiting for $what" }
}

/** The data of every event the collector received, request by request. */
fun receivedEvents(): List<JsonObject> = Collector.received().flatMap { r ->
    r.asJsonObject["body"].asJsonObject["events"].asJsonArray.map { it.asJsonObject["data"].asJsonObject }
}

object Collector {
    private fun call(method: String, path: String, body: String? = null): String {
        val c = URL(Env.collectorUrl + path).openConnection() as HttpURLConnection
        c.requestMethod = method
        if (body != null) {
            c.doOutput = true
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        check(c.responseCode == 200) { "collector $path: HTTP ${c.responseCode}" }
        return c.inputStream.use { String(it.readBytes()) }
    }

    fun reset() { call("POST", "/_reset", "") }

    /** Replies for the next collection requests, e.g. `[{"status":503}]`. */
    fun script(json: String) { call("POST", "/_script", json) }

    fun received(): JsonArray = JsonParser.parseString(call("GET", "/_received")).asJsonArray
}

class ManualClock(startMs: Long) : MesureClock {
    private val now = AtomicLong(startMs)
    override fun nowMs(): Long = now.get()
    fun set(ms: Long) = now.set(ms)
    fun advance(ms: Long) { now.addAndGet(ms) }
}

class Recorder : MesureListener {
    val changes: MutableList<ModeChange> = Collections.synchronizedList(mutableListOf())
    val diagnostics: MutableList<Diagnostic> = Collections.synchronizedList(mutableListOf())
    override fun onModeChanged(change: ModeChange, logLine: String) { changes += change }
    override fun onDiagnostic(diagnostic: Diagnostic, logLine: String) { diagnostics += diagnostic }
    val states: MutableList<SdkState> = Collections.synchronizedList(mutableListOf())
    override fun onState(state: SdkState, logLine: String) { states += state }
    fun dropped(): List<Diagnostic.Dropped> = synchronized(diagnostics) { diagnostics.filterIsInstance<Diagnostic.Dropped>() }
}

/** A platform client that records requests and answers each with the next status (then 200). */
class CaptureClient(private vararg val statuses: Int) : PlatformHttpClient {
    val requests: MutableList<Pair<String, JsonElement>> = Collections.synchronizedList(mutableListOf())
    /** Every request as it was sent, headers included. */
    val sent: MutableList<HttpRequest> = Collections.synchronizedList(mutableListOf())
    private var answered = 0
    override fun send(request: HttpRequest, completion: UploadCompletion) {
        sent += request
        requests += request.url to JsonParser.parseString(String(request.body))
        val status = synchronized(this) { statuses.getOrNull(answered++) ?: 200 }
        completion.response(status, null)
    }
}

fun isUuidV4(s: String?): Boolean =
    s != null && runCatching { UUID.fromString(s).version() == 4 && UUID.fromString(s).toString() == s.lowercase() }.getOrDefault(false)
