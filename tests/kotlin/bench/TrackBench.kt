package eu.mesure.bench

import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.PropertyValue
import eu.mesure.ffi.VisitorMode
import eu.mesure.ffi.hasBuiltinHttpClient
import eu.mesure.ffi.sdkVersion
import java.nio.file.Files

/**
 * `track` through the generated Kotlin bindings on the desktop JVM, timed per
 * call, with a same-run baseline: a trivial call across the same FFI
 * (`sdkVersion()`), so the figure separates JNA's crossing from the SDK's work.
 * A second baseline returns a plain boolean (no buffer crosses), isolating
 * JNA's per-call cost from UniFFI's buffers. Same protocol as the Rust
 * benchmark: 100 bursts of 1000 calls. Prints JSON.
 */
private const val PAYLOAD = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis."

private fun percentiles(samples: LongArray): String {
    samples.sort()
    fun at(q: Double) = samples[((samples.size - 1) * q).toInt()]
    return """{"p50":${at(0.5)},"p99":${at(0.99)},"p999":${at(0.999)},"n":${samples.size}}"""
}

fun main() {
    val dir = Files.createTempDirectory("mesure-kt-bench").toString()
    val config = MesureConfig(collectEndpoint = "http://127.0.0.1:9", siteId = 615_000, storageDir = dir, flushIntervalMs = 3_600_000L)
    MesureCore(config).use { mesure ->
        mesure.setMode(VisitorMode.OptIn)
        fun props(i: Int) = mapOf(
            "page_chapter1" to PropertyValue.Text("news"),
            "payload" to PropertyValue.Text(PAYLOAD),
            "seq" to PropertyValue.Integer(i.toLong()),
        )
        fun waitPersisted() {
            while (mesure.stats().persisted < mesure.stats().accepted) Thread.sleep(0, 200_000)
        }
        // Warm up the JIT and the SDK.
        repeat(20_000) { mesure.trackScreen("home", props(it)) }
        repeat(20_000) { sdkVersion() }
        repeat(20_000) { hasBuiltinHttpClient() }
        waitPersisted()

        val track = LongArray(100_000)
        val ffi = LongArray(100_000)
        val plain = LongArray(100_000)
        var n = 0
        for (b in 0 until 100) {
            for (i in 0 until 1000) {
                val p = props(b * 1000 + i)
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
            waitPersisted()
        }
        println("""{"track":${percentiles(track)},"ffi_call":${percentiles(ffi)},"plain_call":${percentiles(plain)}}""")
        mesure.shutdown()
    }
}
