package eu.mesure.tests

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonParser
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.HttpRequest
import eu.mesure.ffi.MesureClock
import eu.mesure.ffi.MesureListener
import eu.mesure.ffi.ModeChange
import eu.mesure.ffi.PlatformHttpClient
import eu.mesure.ffi.UploadCompletion
import java.io.File
import java.net.HttpURLConnection
import java.net.URL
import java.nio.file.Files
import java.util.Collections
import java.util.UUID
import java.util.concurrent.atomic.AtomicLong

/** Shared fixtures of the Kotlin suite. Everything here talks to the real library. */
object Env {
    /** The loopback collector process started by `cargo xtask test-kotlin`. */
    val collectorUrl: String = System.getenv("MESURE_COLLECTOR_URL")
        ?: error("MESURE_COLLECTOR_URL is not set: run the suite with `cargo xtask test-kotlin`")
    val vectorsDir: File = File(System.getenv("MESURE_VECTORS_DIR") ?: "tests/vectors")

    fun tempDir(): String = Files.createTempDirectory("mesure-kt").toFile().absolutePath
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
    override fun onModeChanged(change: ModeChange) { changes += change }
    override fun onDiagnostic(diagnostic: Diagnostic) { diagnostics += diagnostic }
    fun dropped(): List<Diagnostic.Dropped> = synchronized(diagnostics) { diagnostics.filterIsInstance<Diagnostic.Dropped>() }
}

/** A platform client that records requests and answers each with the next status (then 200). */
class CaptureClient(private vararg val statuses: Int) : PlatformHttpClient {
    val requests: MutableList<Pair<String, JsonElement>> = Collections.synchronizedList(mutableListOf())
    private var answered = 0
    override fun send(request: HttpRequest, completion: UploadCompletion) {
        requests += request.url to JsonParser.parseString(String(request.body))
        val status = synchronized(this) { statuses.getOrNull(answered++) ?: 200 }
        completion.response(status, null)
    }
}

fun isUuidV4(s: String?): Boolean =
    s != null && runCatching { UUID.fromString(s).version() == 4 && UUID.fromString(s).toString() == s.lowercase() }.getOrDefault(false)

fun waitUntil(timeoutMs: Long = 5_000, condition: () -> Boolean): Boolean {
    val deadline = System.currentTimeMillis() + timeoutMs
    while (System.currentTimeMillis() < deadline) {
        if (condition()) return true
        Thread.sleep(5)
    }
    return condition()
}
