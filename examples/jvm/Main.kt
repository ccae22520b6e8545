package eu.mesure.example

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.VisitorMode
import eu.mesure.ffi.visitorModeName
import java.nio.file.Files

/**
 * The Kotlin API on the desktop JVM, as an Android app would use it (minus
 * the Android glue). Run by `cargo xtask test-kotlin` against the loopback
 * collector; set MESURE_COLLECTOR_URL to point it elsewhere (https only,
 * except loopback).
 */
fun main() {
    val endpoint = System.getenv("MESURE_COLLECTOR_URL") ?: "http://127.0.0.1:8080"
    val config = MesureConfig(
        collectEndpoint = endpoint,
        siteId = 615_000,
        storageDir = Files.createTempDirectory("mesure-jvm-example").toString(),
    )
    Mesure.start(config, HttpUrlConnectionClient(), onDiagnostic = { d ->
        if (d is Diagnostic.Dropped) println("held back ${d.event}.${d.property ?: "(event)"}: ${d.explanation}")
    }).use { mesure ->
        println("mode: ${visitorModeName(mesure.mode.value)}")
        mesure.trackScreen("home", mapOf("page_chapter1" to "news", "user_id" to "u-123"))
        mesure.trackClick(ClickKind.NAVIGATION, "open_article")
        println("flush: ${mesure.flush()}")

        mesure.setMode(VisitorMode.OptIn)
        mesure.track("purchase", mapOf("amount" to 30, "currency" to "EUR"))
        println("flush: ${mesure.flush()}")

        mesure.setOptedOut(true)
        mesure.trackScreen("home")
        println("mode: ${visitorModeName(mesure.mode.value)}; stats: ${mesure.stats()}")
    }
}
