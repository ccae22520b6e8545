package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.AllowedProperty
import eu.mesure.ffi.HttpRequest
import eu.mesure.ffi.PlatformHttpClient
import eu.mesure.ffi.UploadCompletion
import eu.mesure.ffi.VisitorMode
import java.util.Collections
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** Typed errors (the generated MesureException) printed as sentences, and the HTTP completion contract. */
class ErrorsTest {
    private fun config() = Env.config().copy(requestTimeoutMs = 200L)

    @Test
    fun invalidConfigurationsNameTheFieldInASentence() {
        val e1 = assertThrows(MesureException.InvalidConfig::class.java) { Mesure.start(config().copy(siteId = 0)) }
        assertEquals("site_id", e1.field)
        assertEquals("invalid configuration: site_id: must be a positive integer", e1.toString())
        val e2 = assertThrows(MesureException.InvalidConfig::class.java) {
            Mesure.start(config().copy(collectEndpoint = "http://collect.example.com"))
        }
        assertEquals("collect_endpoint", e2.field)
        assertTrue("$e2", e2.toString().startsWith("invalid configuration: collect_endpoint: "))
        val e3 = assertThrows(MesureException.InvalidConfig::class.java) {
            Mesure.start(config().copy(exemptAllowlist = listOf(AllowedProperty("user_id", "*", "we want to know who"))))
        }
        assertEquals("exempt_allowlist[0].property", e3.field)
        val e4 = assertThrows(MesureException.InvalidConfig::class.java) { Mesure.start(config().copy(defaultMode = VisitorMode.OptIn)) }
        assertEquals("default_mode", e4.field)
        val e5 = assertThrows(MesureException.InvalidConfig::class.java) { Mesure.start(config().copy(flushIntervalMs = -1)) }
        assertEquals("flush_interval_ms", e5.field)
        assertEquals("invalid configuration: flush_interval_ms: -1 is out of range (negative, or too large)", e5.toString())
    }

    @Test
    fun aSetterErrorReachesTheErrorListenerAsASentence() {
        val errors = Collections.synchronizedList(mutableListOf<MesureException>())
        Mesure.start(config(), options { onError { errors += it } }).use { mesure ->
            mesure.setMode(VisitorMode.Custom("nope"))
            mesure.setPurpose("advertising", eu.mesure.ffi.PurposeMode.OPT_IN)
            mesure.awaitAppliedBlocking()
            assertEquals(listOf(MesureException.UnknownMode::class.java, MesureException.UnknownPurpose::class.java), errors.map { it.javaClass })
            assertEquals("unknown visitor mode \"nope\"", errors[0].toString())
            assertEquals("nope", (errors[0] as MesureException.UnknownMode).name)
            assertEquals("unknown purpose \"advertising\": list it in the configuration's purposes", errors[1].toString())
            assertEquals(VisitorMode.Exempt, mesure.state.value.mode)
        }
    }

    @Test
    fun aClientThatNeverAnswersTimesOutAndKeepsTheBatch() {
        val held = Collections.synchronizedList(mutableListOf<UploadCompletion>())
        val silent = object : PlatformHttpClient {
            override fun send(request: HttpRequest, completion: UploadCompletion) { held += completion }
        }
        Mesure.start(config(), options { httpClient(silent) }).use { mesure ->
            mesure.trackScreen("home")
            val report = mesure.flushBlocking()
            assertEquals(1L, report.pending)
            val deferred = report.deferred ?: ""
            assertTrue(deferred, deferred.contains("did not answer"))
            assertEquals("a late answer is ignored", false, held.single().response(200, null))
        }
    }

    @Test
    fun aClientThatThrowsIsAFailedAttempt() {
        val throwing = object : PlatformHttpClient {
            override fun send(request: HttpRequest, completion: UploadCompletion) = throw IllegalStateException("no network stack")
        }
        Mesure.start(config(), options { httpClient(throwing) }).use { mesure ->
            mesure.trackScreen("home")
            val report = mesure.flushBlocking()
            assertEquals(1L, report.pending)
            val deferred = report.deferred ?: ""
            assertTrue(deferred, deferred.contains("threw"))
        }
    }

    @Test
    fun aClientAnswering503Then200DeliversOnce() {
        val capture = CaptureClient(503, 200)
        Mesure.start(config(), options { httpClient(capture) }).use { mesure ->
            mesure.trackScreen("home")
            assertEquals("HTTP 503", mesure.flushBlocking().deferred)
            assertEquals(1L, mesure.flushBlocking().uploaded)
            assertEquals(2, capture.requests.size)
        }
    }
}
