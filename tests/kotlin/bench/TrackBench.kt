package eu.mesure.bench

import eu.mesure.Mesure
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.PropertyValue
import eu.mesure.ffi.VisitorMode
import eu.mesure.ffi.hasBuiltinHttpClient
import eu.mesure.ffi.sdkVersion
import java.nio.file.Files

/**
 * The caller's cost of tracking on the desktop JVM, timed per call, with
 * same-run baselines: empty calls across the same FFI, one returning a
 * string (`sdkVersion()`: a UniFFI buffer crosses back), one a boolean
 * (`hasBuiltinHttpClient()`: JNA's crossing alone).
 *
 * - `track`: `MesureCore.trackScreen` through the generated bindings (the
 *   core's work on the caller's thread).
 * - `wrapper_track`: `Mesure.trackScreen` through the wrapper (convert the
 *   properties, write them with the call into one buffer, one JNA call
 *   into the core by direct mapping, `mesure_track_encoded`; the core's
 *   work on the caller's thread); its `empty_call` is measured interleaved
 *   with it. Target: p50 at most 2x the empty call, p99.9 at most 1 ms.
 * - `start`: `Mesure.start` on a store holding 100 000 queued hits, the
 *   caller's time (and, for information, the time until the core is ready).
 *
 * Same protocol as the Rust benchmark: 100 bursts of 1000 calls, waiting
 * between bursts for the SDK to drain (storage).
 * Prints JSON on its last line.
 */
private const val PAYLOAD = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis."
private const val BURSTS = 100
private const val BURST = 1000
private const val QUEUED = 100_000

private fun percentiles(samples: LongArray): String {
    samples.sort()
    fun at(q: Double) = samples[((samples.size - 1) * q).toInt()]
    return """{"p50":${at(0.5)},"p99":${at(0.99)},"p999":${at(0.999)},"n":${samples.size}}"""
}

private fun config(dir: String) = MesureConfig(
    collectEndpoint = "http://127.0.0.1:9",
    siteId = 615_000,
    storageDir = dir,
    flushIntervalMs = 3_600_000L,
    queueMaxHits = 1_000_000,
)

/** Waits (polling, in a benchmark only) until storage has caught up with what was accepted. */
private fun waitPersisted(stats: () -> eu.mesure.ffi.Stats) {
    while (true) {
        val s = stats()
        if (s.persisted >= s.accepted) return
        Thread.sleep(0, 200_000)
    }
}

private fun coreFigures(): String {
    val dir = Files.createTempDirectory("mesure-kt-bench").toString()
    MesureCore(config(dir)).use { mesure ->
        mesure.waitStarted()
        mesure.setMode(VisitorMode.OptIn)
        fun props(i: Int) = mapOf(
            "page_chapter1" to PropertyValue.Text("news"),
            "payload" to PropertyValue.Text(PAYLOAD),
            "seq" to PropertyValue.Integer(i.toLong()),
        )
        // Warm up the JIT and the SDK.
        repeat(20_000) { mesure.trackScreen("home", props(it)) }
        repeat(20_000) { sdkVersion() }
        repeat(20_000) { hasBuiltinHttpClient() }
        waitPersisted(mesure::stats)

        val track = LongArray(BURSTS * BURST)
        val ffi = LongArray(BURSTS * BURST)
        val plain = LongArray(BURSTS * BURST)
        var n = 0
        for (b in 0 until BURSTS) {
            for (i in 0 until BURST) {
                val p = props(b * BURST + i)
                val t0 = System.nanoTime()
                mesure.trackScreen("home", p)
                track[n] = System.nanoTime() - t0
                val t1 = System.nanoTime()
                sdkVersion()
                ffi[n] = System.nanoTime() - t1
                val t2 = System.nanoTime()
                hasBuiltinHttpClient()
                plain[n] = System.nanoTime() - t2
                n++
            }
            waitPersisted(mesure::stats)
        }
        mesure.shutdown()
        return """"track":${percentiles(track)},"ffi_call":${percentiles(ffi)},"plain_call":${percentiles(plain)}"""
    }
}

private fun wrapperFigures(): String {
    val dir = Files.createTempDirectory("mesure-kt-bench-wrapper").toString()
    Mesure.start(config(dir)).use { mesure ->
        mesure.setMode(VisitorMode.OptIn)
        // The app's map, built by the app (not timed): ordinary values.
        fun props(i: Int): Map<String, Any?> = mapOf("page_chapter1" to "news", "payload" to PAYLOAD, "seq" to i)
        repeat(20_000) { mesure.trackScreen("home", props(it)) }
        repeat(20_000) { hasBuiltinHttpClient() }
        mesure.awaitAppliedBlocking()
        waitPersisted(mesure::statsBlocking)

        val track = LongArray(BURSTS * BURST)
        val empty = LongArray(BURSTS * BURST)
        var n = 0
        for (b in 0 until BURSTS) {
            for (i in 0 until BURST) {
                val p = props(b * BURST + i)
                val t0 = System.nanoTime()
                mesure.trackScreen("home", p)
                track[n] = System.nanoTime() - t0
                val t1 = System.nanoTime()
                hasBuiltinHttpClient()
                empty[n] = System.nanoTime() - t1
                n++
            }
            // Storage catches up with the burst.
            mesure.awaitAppliedBlocking()
            waitPersisted(mesure::statsBlocking)
        }
        return """"wrapper_track":${percentiles(track)},"empty_call":${percentiles(empty)}"""
    }
}

private fun startFigures(): String {
    val dir = Files.createTempDirectory("mesure-kt-bench-start").toString()
    // A store with 100 000 hits waiting (the collector address is dead: nothing leaves).
    MesureCore(config(dir)).use { core ->
        core.waitStarted()
        core.setMode(VisitorMode.OptIn)
        for (b in 0 until QUEUED / BURST) {
            repeat(BURST) { core.trackScreen("home", mapOf("seq" to PropertyValue.Integer((b * BURST + it).toLong()))) }
            waitPersisted(core::stats)
        }
        check(core.stats().persisted == QUEUED.toLong()) { "the store holds ${core.stats().persisted} hits" }
        core.shutdown()
    }
    val caller = LongArray(5)
    val ready = LongArray(5)
    for (i in caller.indices) {
        val t0 = System.nanoTime()
        val mesure = Mesure.start(config(dir))
        caller[i] = System.nanoTime() - t0
        mesure.awaitAppliedBlocking()
        ready[i] = System.nanoTime() - t0
        check(mesure.state.value.ready) { "not started: ${mesure.state.value.error}" }
        mesure.closeAndWait()
    }
    caller.sort()
    ready.sort()
    return """"start_queued_hits":$QUEUED,"start_caller_ns":{"median":${caller[2]},"max":${caller[4]},"all":${caller.toList()}},"start_ready_ns":{"median":${ready[2]},"max":${ready[4]}}"""
}

fun main() {
    val core = coreFigures()
    val wrapper = wrapperFigures()
    val start = startFigures()
    println("{$core,$wrapper,$start}")
}
