package eu.mesure.example

import eu.mesure.*
// The generated class itself, for its cases (Diagnostic.Dropped): a type
// alias does not reach them. This explicit import wins over eu.mesure.*.
import eu.mesure.ffi.Diagnostic
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
    val options = MesureOptions.builder()
        .httpClient(HttpUrlConnectionClient())
        .onDiagnostic { d ->
            if (d is Diagnostic.Dropped) println("held back ${d.event}.${d.property ?: "(event)"}: ${d.explanation}")
        }
        .onError { e -> println("error: $e") }
        .build()
    Mesure.start(config, options).use { mesure ->
        // track* and the setters return at once, in order, even before the SDK is ready.
        mesure.trackScreen("home", mapOf("page_chapter1" to "news", "user_id" to "u-123"))
        mesure.trackClick(ClickKind.NAVIGATION, "open_article")
        println("flush: ${mesure.flushBlocking()}")
        println("mode: ${mesure.state.value.mode}")

        // The consent prompt, as the app names it: counted when shown, named in the receipt of the answer.
        val banner = ConsentContext(promptId = "main_banner", promptVersion = "2026-12", locale = "fr-FR")
        mesure.consentPromptShown(banner)
        mesure.setMode(VisitorMode.OptIn, banner)
        mesure.track("purchase", mapOf("amount" to 30, "currency" to "EUR"))
        println("flush: ${mesure.flushBlocking()}")
        println("consent proof: ${mesure.consentProofBlocking()}")

        mesure.setOptedOut(true)
        mesure.trackScreen("home")
        mesure.awaitAppliedBlocking()
        println("mode: ${mesure.state.value.mode}; stats: ${mesure.statsBlocking()}")
    }
}
