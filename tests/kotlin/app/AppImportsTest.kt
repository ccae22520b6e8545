package eu.mesure.tests.app

// An app's code as the READMEs write it: everything Mesure comes from
// `import eu.mesure.*` (the wrapper, and the generated types an app names as
// type aliases), nothing from the generated package. `cargo xtask test-kotlin`
// compiles this directory on its own, as an app is compiled: against the
// wrapper's classes without access to its internals, and it refuses any
// mention of the generated package here.

import eu.mesure.*
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class AppImportsTest {
    /** The app's own HTTP client, as one over OkHttp would be written. */
    private class AcceptingClient : PlatformHttpClient {
        val requests = AtomicInteger()

        override fun send(request: HttpRequest, completion: UploadCompletion) {
            requests.incrementAndGet()
            val headers: List<HttpHeader> = request.headers
            if (headers.isEmpty()) completion.failure(HttpFailure.OTHER, "no headers") else completion.response(204, null)
        }
    }

    // kotlin.OptIn, untouched by the value VisitorMode.OptIn the star import brings.
    @OptIn(ExperimentalStdlibApi::class)
    @Test
    fun anAppNeedsOnlyEuMesure(): Unit = runBlocking {
        val diagnostics: MutableList<Diagnostic> = Collections.synchronizedList(mutableListOf())
        val errors: MutableList<MesureException> = Collections.synchronizedList(mutableListOf())
        val http = AcceptingClient()
        val config = MesureConfig(
            collectEndpoint = "https://collect.example.com",
            siteId = 615_000,
            storageDir = Files.createTempDirectory("mesure-app").toString(),
            defaultMode = VisitorMode.Exempt,
            exemptAllowlist = listOf(AllowedProperty("ab_variant", "page.display", "A/B test of the onboarding screen load time")),
            forbiddenProperties = listOf(PropertyRule("email")),
            customModes = listOf(CustomMode("articles", listOf("article.read"), emptyList())),
            purposes = listOf(PurposeConfig("advertising", listOf("ad_*"))),
            flushIntervalMs = 3_600_000,
            consent = ConsentSettings(statistics = true),
        )
        val options = MesureOptions.builder()
            .httpClient(http)
            .onDiagnostic { d: Diagnostic -> diagnostics.add(d) }
            .onError { e: MesureException -> errors.add(e) }
            .build()
        Mesure.start(config, options).use { mesure ->
            val state: StateFlow<MesureState> = mesure.state
            mesure.trackScreen("home", mapOf("page_chapter1" to "news", "ab_variant" to "b"))
            mesure.trackClick(ClickKind.NAVIGATION, "open_article")
            mesure.setContext(DeviceContext(os = "linux", connectionType = "wifi", collectionPlatform = "jvm"))
            val sent: FlushReport = mesure.flush()
            assertEquals(2L, sent.uploaded)
            assertEquals(1, http.requests.get())

            val banner = ConsentContext(promptId = "main_banner", promptVersion = "2026-12", locale = "fr-FR")
            mesure.consentPromptShown(banner)
            mesure.setPurposes(mapOf("audience_measurement" to PurposeMode.OPT_IN, "advertising" to PurposeMode.OPT_OUT), banner)
            mesure.awaitApplied()
            assertEquals(VisitorMode.OptIn, state.value.mode)
            mesure.track("purchase", mapOf("amount" to 30, "ad_campaign" to "spring"))

            mesure.setMode(VisitorMode.Custom("articles"))
            mesure.awaitApplied()
            assertEquals(VisitorMode.Custom("articles"), state.value.mode)

            mesure.setOptedOut(true)
            mesure.awaitApplied()
            val mode: VisitorMode = state.value.mode
            assertEquals(VisitorMode.OptOut, mode)
            val run: RunState = state.value.run
            assertTrue("$run", state.value.ready)

            val stats: Stats = mesure.stats()
            assertEquals(3L, stats.accepted)
            assertTrue(mesure.exportLocalData().contains("optout"))
            mesure.deleteLocalData()
            assertEquals("a refusal stays in force", VisitorMode.OptOut, mesure.state.value.mode)
            assertTrue(mesure.complianceReportMarkdown().isNotEmpty())
        }
        assertTrue(describe(diagnostics, null).isNotEmpty())
        assertFalse("$errors", errors.any())
    }

    /** The types an app names only in its own signatures. */
    private fun describe(diagnostics: List<Diagnostic>, value: PropertyValue?, hits: List<SentHit> = emptyList()): String =
        "${diagnostics.size} diagnostics, $value, ${hits.size} hits"
}
