package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ffi.AllowedProperty
import eu.mesure.ffi.HttpRequest
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.PlatformHttpClient
import eu.mesure.ffi.TrackOutcome
import eu.mesure.ffi.UploadCompletion
import eu.mesure.ffi.VisitorMode
import java.util.Collections
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** Typed errors across the boundary, and the HTTP completion contract. */
class ErrorsTest {
    private fun config() =
        MesureConfig(collectEndpoint = Env.collectorUrl, siteId = 7, storageDir = Env.tempDir(), flushIntervalMs = 3_600_000L, requestTimeoutMs = 200L)

    @Test
    fun invalidConfigurationsNameTheField() {
        val e1 = assertThrows(MesureException.InvalidConfig::class.java) { Mesure.start(config().copy(siteId = 0)) }
        assertEquals("site_id", e1.field)
        val e2 = assertThrows(MesureException.InvalidConfig::class.java) {
            Mesure.start(config().copy(collectEndpoint = "http://collect.example.com"))
        }
        assertEquals("collect_endpoint", e2.field)
        val e3 = assertThrows(MesureException.InvalidConfig::class.java) {
            Mesure.start(config().copy(exemptAllowlist = listOf(AllowedProperty("user_id", "*", "we want to know who"))))
        }
        assertEquals("exempt_allowlist[0].property", e3.field)
        val e4 = assertThrows(MesureException.InvalidConfig::class.java) {
            Mesure.start(config().copy(defaultMode = VisitorMode.OptIn))
        }
        assertEquals("default_mode", e4.field)
    }

    @Test
    fun badCallsGetTypedErrors() {
        Mesure.start(config()).use { mesure ->
            val refused = mesure.track("Page Display")
            assertTrue(refused is TrackOutcome.Refused && refused.reason == "invalid_event_name")
            assertThrows(MesureException.UnknownMode::class.java) { mesure.setMode(VisitorMode.Custom("nope")) }
            assertThrows(IllegalArgumentException::class.java) { mesure.track("page.display", mapOf("x" to Any())) }
            assertEquals(VisitorMode.Exempt, mesure.mode.value)
        }
        val closed = Mesure.start(config())
        closed.close()
        assertThrows(IllegalStateException::class.java) { closed.trackScreen("home") }
    }

    @Test
    fun aClientThatNeverAnswersTimesOutAndKeepsTheBatch() {
        val held = Collections.synchronizedList(mutableListOf<UploadCompletion>())
        val silent = object : PlatformHttpClient {
            override fun send(request: HttpRequest, completion: UploadCompletion) { held += completion }
        }
        Mesure.start(config(), silent).use { mesure ->
            mesure.trackScreen("home")
            val started = System.nanoTime()
            val report = mesure.flush()
            assertTrue((System.nanoTime() - started) / 1_000_000 < 10_000)
            assertEquals(1L, report.pending)
            assertTrue(report.deferred!!, report.deferred!!.contains("did not answer"))
            assertEquals("a late answer is ignored", false, held.single().response(200, null))
        }
    }

    @Test
    fun aClientThatThrowsIsAFailedAttempt() {
        val throwing = object : PlatformHttpClient {
            override fun send(request: HttpRequest, completion: UploadCompletion) = throw IllegalStateException("no network stack")
        }
        Mesure.start(config(), throwing).use { mesure ->
            mesure.trackScreen("home")
            val report = mesure.flush()
            assertEquals(1L, report.pending)
            assertTrue(report.deferred!!, report.deferred!!.contains("threw"))
        }
    }

    @Test
    fun aClientAnswering503Then200DeliversOnce() {
        val capture = CaptureClient(503, 200)
        Mesure.start(config(), capture).use { mesure ->
            mesure.trackScreen("home")
            assertEquals("HTTP 503", mesure.flush().deferred)
            assertEquals(1L, mesure.flush().uploaded)
            assertEquals(2, capture.requests.size)
        }
    }
}
