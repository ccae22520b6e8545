package eu.mesure.tests

import com.google.gson.JsonObject
import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.VisitorMode
import eu.mesure.ffi.sdkVersion
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test

/** Real HTTP on loopback, through the Kotlin wrapper, with each HTTP client. */
class RoundTripTest {
    private fun config() = MesureConfig(
        collectEndpoint = Env.collectorUrl,
        siteId = 615_000,
        storageDir = Env.tempDir(),
        flushIntervalMs = 3_600_000L,
        requestTimeoutMs = 2_000L,
        context = DeviceContext(os = "android", osVersion = "15", deviceType = "mobile", appVersion = "3.1.0", connectionType = "wifi", collectionPlatform = "android"),
    )

    @Before
    fun reset() = Collector.reset()

    private fun exemptRoundTrip(mesure: Mesure) {
        mesure.track("page.display", mapOf("page" to "home", "user_id" to "u-123", "basket_value" to 12.5))
        val report = mesure.flushBlocking()
        assertEquals(1L, report.uploaded)
        assertEquals(0L, report.pending)

        val received = Collector.received()
        assertEquals(1, received.size())
        val r = received[0].asJsonObject
        assertEquals("/event", r["path"].asString)
        assertEquals("615000", r["query"].asJsonObject["s"].asString)
        assertTrue(isUuidV4(r["query"].asJsonObject["idclient"].asString))
        assertEquals("application/json", r["headers"].asJsonObject["content-type"].asString)
        val agent = r["headers"].asJsonObject["user-agent"].asString
        assertEquals("the core's User-Agent, whichever client sent it", "Mesure", agent)
        val event = r["body"].asJsonObject["events"].asJsonArray.single().asJsonObject
        assertEquals("page.display", event["name"].asString)
        val data: JsonObject = event["data"].asJsonObject
        assertEquals(
            listOf(
                "app_version", "connection_type", "device_timestamp_utc", "device_type", "event_collection_platform",
                "event_collection_version", "event_id", "os", "os_version", "page", "visitor_privacy_consent", "visitor_privacy_mode",
            ),
            data.keySet().sorted(),
        )
        assertEquals("home", data["page"].asString)
        assertEquals("exempt", data["visitor_privacy_mode"].asString)
        assertFalse(data["visitor_privacy_consent"].asBoolean)
        assertEquals(sdkVersion(), data["event_collection_version"].asString)
        assertTrue(isUuidV4(data["event_id"].asString))
    }

    @Test
    fun exemptHitThroughHttpUrlConnection() {
        val diagnostics = Diagnostics()
        Mesure.start(config(), options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics) }).use { mesure ->
            exemptRoundTrip(mesure)
            val held = diagnostics.dropped().map { it.property to it.reason }
            assertEquals(listOf("basket_value" to "not_allowed_in_mode", "user_id" to "not_allowed_in_mode"), held)
        }
    }

    @Test
    fun exemptHitThroughTheBuiltInRustClient() {
        Mesure.start(config()).use { exemptRoundTrip(it) }
    }

    @Test
    fun serverErrorKeepsTheBatchUntilAcknowledged() {
        Collector.script("""[{"status":503}]""")
        Mesure.start(config(), options { httpClient(HttpUrlConnectionClient()) }).use { mesure ->
            mesure.trackScreen("home")
            val first = mesure.flushBlocking()
            assertEquals(0L, first.uploaded)
            assertEquals(1L, first.pending)
            assertEquals("HTTP 503", first.deferred)
            val second = mesure.flushBlocking()
            assertEquals(1L, second.uploaded)
            assertEquals(0L, second.pending)
            val received = Collector.received()
            assertEquals(2, received.size())
            val ids = received.map { it.asJsonObject["body"].asJsonObject["events"].asJsonArray[0].asJsonObject["data"].asJsonObject["event_id"].asString }
            assertEquals("the retry resends the same event_id", ids[0], ids[1])
            assertTrue(received[1].asJsonObject["acknowledged"].asBoolean)
        }
    }

    @Test
    fun aStalledServerTimesOutAndTheBatchIsKept() {
        Collector.script("""[{"stall_ms":1500}]""")
        Mesure.start(config().copy(requestTimeoutMs = 300L), options { httpClient(HttpUrlConnectionClient()) }).use { mesure ->
            mesure.trackScreen("home")
            val first = mesure.flushBlocking()
            assertEquals(1L, first.pending)
            assertNotNull(first.deferred)
            assertTrue(first.deferred!!, first.deferred!!.contains("Timeout"))
            assertEquals(1L, mesure.flushBlocking().uploaded)
        }
    }

    @Test
    fun optOutSendsNothingAndDeletesTheId() {
        val diagnostics = Diagnostics()
        Mesure.start(config(), options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics) }).use { mesure ->
            mesure.trackScreen("before")
            mesure.setOptedOut(true)
            mesure.trackScreen("after")
            mesure.awaitAppliedBlocking()
            assertEquals(VisitorMode.OptOut, mesure.state.value.mode)
            val report = mesure.flushBlocking()
            assertEquals(0L, report.uploaded)
            assertEquals(listOf("opt_out_sends_nothing"), diagnostics.dropped().map { it.reason })
            assertEquals(0, Collector.received().size())
            val export = com.google.gson.JsonParser.parseString(mesure.exportLocalDataBlocking()).asJsonObject
            assertTrue(export["visitor_id"].isJsonNull)
            assertEquals(0, export["pending_hits"].asJsonArray.size())
            assertTrue(export["current_mode"].asJsonObject["consent_expires_at"].isJsonNull)
        }
    }

    @Test
    fun aRedirectIsNotFollowedAndTheBatchIsKept() {
        // A 307 resends the body; to another host, it would carry the hits
        // where the visitor never agreed they go.
        Collector.script("""[{"status":307,"location":"${Env.collectorUrl}/elsewhere"}]""")
        Mesure.start(config(), options { httpClient(HttpUrlConnectionClient()) }).use { mesure ->
            mesure.trackScreen("home")
            val first = mesure.flushBlocking()
            assertEquals("HTTP 307", first.deferred)
            assertEquals(1L, first.pending)
            assertEquals("not followed", listOf("/event"), Collector.received().map { it.asJsonObject["path"].asString })
            assertEquals(1L, mesure.flushBlocking().uploaded)
        }
    }

    /**
     * A 2xx answer's body reaches the core: the Matomo wire reads the counts
     * in it and reports a collector that tracked fewer hits than it was sent.
     */
    @Test
    fun a2xxBodyReachesTheCoreThroughHttpUrlConnection() {
        Collector.script("""[{"status":200,"json":"{\"status\":\"success\",\"tracked\":0,\"invalid\":1,\"invalid_indices\":[0]}"}]""")
        val diagnostics = Diagnostics()
        val matomo = config().copy(collector = eu.mesure.ffi.Collector.Matomo(appHost = "app.example", dimensions = emptyMap()))
        Mesure.start(matomo, options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics) }).use { mesure ->
            mesure.trackScreen("home")
            val report = mesure.flushBlocking()
            assertEquals("a 2xx answer acknowledges the batch: $report", 1L, report.uploaded)
            assertEquals(listOf("/matomo.php"), Collector.received().map { it.asJsonObject["path"].asString })
            val deadline = System.nanoTime() + 10_000_000_000L
            fun miscounted() = diagnostics.snapshot().filterIsInstance<Diagnostic.CollectorMiscounted>()
            while (miscounted().isEmpty() && System.nanoTime() < deadline) Thread.sleep(20)
            assertEquals(listOf(Diagnostic.CollectorMiscounted(sent = 1L, tracked = 0L, invalid = 1L)), miscounted())
        }
    }

    @Test
    fun aHugeResponseBodyIsReadToItsBoundOnly() {
        Collector.script("""[{"status":200,"body_bytes":20000000}]""")
        Mesure.start(config(), options { httpClient(HttpUrlConnectionClient()) }).use { mesure ->
            mesure.trackScreen("home")
            assertEquals(1L, mesure.flushBlocking().uploaded)
        }
        // The bound itself, on a stream that never ends.
        var read = 0L
        val endless = object : java.io.InputStream() {
            override fun read(): Int = 0.also { read++ }
            override fun read(b: ByteArray, off: Int, len: Int): Int = len.also { read += it }
        }
        assertEquals(HttpUrlConnectionClient.MAX_RESPONSE_BYTES, HttpUrlConnectionClient.drain(endless, HttpUrlConnectionClient.MAX_RESPONSE_BYTES))
        assertEquals(HttpUrlConnectionClient.MAX_RESPONSE_BYTES, read)
    }
}
