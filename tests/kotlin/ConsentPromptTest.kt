package eu.mesure.tests

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import eu.mesure.ConsentContext
import eu.mesure.ConsentSettings
import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.VisitorMode
import java.util.Collections
import java.util.concurrent.CountDownLatch
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test

/**
 * The consent prompt through the wrapper (issue 19): an answer given in a
 * prompt leaves a receipt naming it, a prompt named with a person's data is
 * refused, and with a consent endpoint the receipts and the anonymous
 * consent statistics reach it apart, until the visitor switches the
 * statistics off.
 */
class ConsentPromptTest {
    private val banner = ConsentContext(promptId = "main_banner", promptVersion = "2026-12", locale = "fr-FR")
    private val settingsScreen = ConsentContext("settings_screen", "3")

    @Before
    fun reset() = Collector.reset()

    private fun withEndpoint(dir: String = Env.tempDir()) =
        Env.config(dir = dir).copy(consent = ConsentSettings(endpoint = "${Env.collectorUrl}/consent"))

    private fun json(text: String): JsonObject = JsonParser.parseString(text).asJsonObject

    /** What reached the consent endpoint, oldest first. */
    private fun consentRequests(): List<JsonObject> =
        Collector.received().map { it.asJsonObject }.filter { it["path"].asString == "/consent" }

    private fun List<JsonObject>.ofType(type: String) = filter { it["body"].asJsonObject["type"].asString == type }

    @Test
    fun anAnswerInAPromptLeavesAReceiptNamingIt() {
        Mesure.start(Env.config()).use { mesure ->
            mesure.setConsent(true, banner)
            mesure.setPurposes(mapOf("audience_measurement" to PurposeMode.ESSENTIAL), settingsScreen)
            mesure.setMode(VisitorMode.OptOut, settingsScreen)
            mesure.setOptedOut(false)
            val proof = json(mesure.consentProofBlocking())
            assertEquals("intact", proof["chain"].asString)
            val receipts = proof["receipts"].asJsonArray.map { it.asJsonObject }
            assertEquals(listOf("optin", "exempt", "optout", "exempt"), receipts.map { it["mode"].asString })
            assertEquals(listOf(1L, 2L, 3L, 4L), receipts.map { it["n"].asLong })
            assertEquals(json("""{"prompt_id": "main_banner", "prompt_version": "2026-12", "locale": "fr-FR"}"""), receipts[0]["prompt"])
            assertEquals("no locale given, none written", json("""{"prompt_id": "settings_screen", "prompt_version": "3"}"""), receipts[1]["prompt"])
            assertEquals(receipts[1]["prompt"], receipts[2]["prompt"])
            assertFalse("the switch is no prompt", receipts[3].has("prompt"))
            assertTrue(receipts.all { it["consent_id"] == proof["consent_id"] })
            // The same receipts in the export (right of access).
            assertEquals(proof["receipts"], json(mesure.exportLocalDataBlocking())["consent_receipts"])
        }
    }

    @Test
    fun aPromptNamedWithAnEmailAddressIsRefusedAndRecordsNothing() {
        val bad = ConsentContext(promptId = "jane.doe@example.com", promptVersion = "2026-12")
        val errors = Collections.synchronizedList(mutableListOf<MesureException>())
        Mesure.start(Env.config(), options { onError { errors += it } }).use { mesure ->
            mesure.setConsent(true, bad)
            mesure.setMode(VisitorMode.OptIn, bad)
            mesure.setPurposes(mapOf("audience_measurement" to PurposeMode.OPT_IN), bad)
            mesure.consentPromptShown(bad)
            mesure.setConsent(true, banner.copy(locale = "fr_FR"))
            mesure.awaitAppliedBlocking()
            assertEquals(
                listOf("prompt.prompt_id", "prompt.prompt_id", "prompt.prompt_id", "prompt.prompt_id", "prompt.locale"),
                errors.map { (it as MesureException.InvalidConfig).field },
            )
            assertEquals("no answer applied", VisitorMode.Exempt, mesure.state.value.mode)
            val proof = json(mesure.consentProofBlocking())
            assertEquals("intact", proof["chain"].asString)
            assertEquals(0, proof["receipts"].asJsonArray.size())
            assertEquals(0, json(mesure.exportLocalDataBlocking())["consent_statistics"].asJsonObject["unsent"].asJsonArray.size())
        }
        // Strict mode throws it instead.
        Mesure.start(Env.config(), options { strict(true) }).use { mesure ->
            val e = assertThrows(MesureException.InvalidConfig::class.java) { mesure.setConsent(true, bad) }
            assertEquals("prompt.prompt_id", e.field)
            assertThrows(MesureException.InvalidConfig::class.java) { mesure.consentPromptShown(bad) }
            assertEquals(0, json(mesure.consentProofBlocking())["receipts"].asJsonArray.size())
        }
    }

    @Test
    fun receiptsAndStatisticsReachTheConsentEndpointApartWithoutAnyVisitorId() {
        val diagnostics = Diagnostics()
        val consentSent = CountDownLatch(2)
        val options = options {
            httpClient(HttpUrlConnectionClient())
            onDiagnostic { d ->
                diagnostics.onDiagnostic(d)
                if (d is Diagnostic.ConsentSent) consentSent.countDown()
            }
        }
        Mesure.start(withEndpoint(), options).use { mesure ->
            mesure.consentPromptShown(banner)
            mesure.setConsent(true, banner)
            mesure.trackScreen("home")
            mesure.flushBlocking()
            val visitor = json(mesure.exportLocalDataBlocking())["visitor_id"].asJsonObject["id"].asString

            val consent = consentRequests()
            val receipts = consent.ofType("consent_receipts")
            val statistics = consent.ofType("consent_statistics")
            assertEquals("one request of each kind: $consent", listOf(1, 1, 2), listOf(receipts.size, statistics.size, consent.size))
            val receipt = receipts[0]["body"].asJsonObject["receipts"].asJsonArray.single().asJsonObject
            assertEquals("optin", receipt["mode"].asString)
            assertEquals(json("""{"prompt_id": "main_banner", "prompt_version": "2026-12", "locale": "fr-FR"}"""), receipt["prompt"])
            assertEquals(json(mesure.consentProofBlocking())["receipts"].asJsonArray[0], receipt)

            val counts = statistics[0]["body"].asJsonObject["counts"].asJsonArray.single().asJsonObject
            assertEquals(
                "counts, a day and a prompt: nothing else",
                setOf("day", "prompt_id", "prompt_version", "shown", "accepted_all", "refused_all", "customised"),
                counts.keySet(),
            )
            assertEquals(listOf("main_banner", "2026-12"), listOf(counts["prompt_id"].asString, counts["prompt_version"].asString))
            assertEquals(listOf(1L, 1L, 0L, 0L), listOf("shown", "accepted_all", "refused_all", "customised").map { counts[it].asLong })
            assertEquals(receipt["at"].asString.substring(0, 10), counts["day"].asString)
            val statisticsBody = statistics[0]["body"].toString()
            assertFalse("a consent-proof id among the counts", statisticsBody.contains("consent_id") || statisticsBody.contains(receipt["consent_id"].asString))
            for (request in consent) {
                assertFalse("the visitor id left for the consent endpoint", request["body"].toString().contains(visitor))
            }

            awaitLatch(consentSent, "the ConsentSent reports")
            val reports = diagnostics.snapshot().filterIsInstance<Diagnostic.ConsentSent>()
            assertEquals(
                listOf(Diagnostic.ConsentSent("receipts", 1, 200, null), Diagnostic.ConsentSent("statistics", 1, 200, null)),
                reports,
            )
        }
    }

    @Test
    fun afterTheVisitorSwitchesThemOffNoStatisticsLeave() {
        val dir = Env.tempDir()
        Mesure.start(withEndpoint(dir)).useAndWait { mesure ->
            mesure.consentPromptShown(banner)
            mesure.flushBlocking()
            assertEquals("counted and sent while on", 1, consentRequests().ofType("consent_statistics").size)

            mesure.setConsentStatistics(false)
            mesure.consentPromptShown(banner)
            mesure.setConsent(true, banner)
            mesure.flushBlocking()
            val export = json(mesure.exportLocalDataBlocking())["consent_statistics"].asJsonObject
            assertTrue(export["off"].asBoolean)
            assertEquals(0, export["unsent"].asJsonArray.size())
        }
        // Kept across a restart.
        Mesure.start(withEndpoint(dir)).use { mesure ->
            mesure.consentPromptShown(banner)
            mesure.setConsent(false, banner)
            mesure.flushBlocking()
        }
        val consent = consentRequests()
        assertEquals("no statistics after the opt-out: $consent", 1, consent.ofType("consent_statistics").size)
        assertEquals("the answers' receipts still leave", 2, consent.ofType("consent_receipts").size)
    }
}
