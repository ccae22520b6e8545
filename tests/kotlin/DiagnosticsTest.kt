package eu.mesure.tests

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.LogLevel
import eu.mesure.Mesure
import eu.mesure.ffi.ClickKind
import java.util.Collections
import java.util.logging.Handler
import java.util.logging.Level
import java.util.logging.LogRecord
import java.util.logging.Logger
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test

/** What the app learns: Sent, dry runs, the debug log, and the thread it all comes on. */
class DiagnosticsTest {
    @Before
    fun reset() = Collector.reset()

    @Test
    fun eachUploadIsReportedWithTheExactKeysThatLeft() {
        val diagnostics = Diagnostics()
        Mesure.start(Env.config(), options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics) }).use { mesure ->
            mesure.trackScreen("home", mapOf("page_chapter1" to "news", "user_id" to "u-1"))
            mesure.flushBlocking()
        }
        val request = Collector.received().single().asJsonObject
        val data = request["body"].asJsonObject["events"].asJsonArray.single().asJsonObject["data"].asJsonObject
        val sent = diagnostics.sent().single()
        assertEquals(request["query"].asJsonObject["idclient"].asString, sent.idclient)
        assertEquals(200, sent.status)
        assertFalse(sent.dryRun)
        val hit = sent.hits.single()
        assertEquals("page.display", hit.event)
        assertEquals(data["event_id"].asString, hit.eventId)
        assertEquals("exactly the keys on the wire, sorted", data.keySet().sorted(), hit.keys)
        assertEquals(
            listOf(
                "device_timestamp_utc", "event_collection_platform", "event_collection_version", "event_id",
                "page", "page_chapter1", "visitor_privacy_consent", "visitor_privacy_mode",
            ),
            hit.keys,
        )
    }

    @Test
    fun aDryRunSendsNothingAndReportsWhatWouldHaveLeft() {
        val diagnostics = Diagnostics()
        val client = CaptureClient()
        val config = Env.config().copy(dryRun = true)
        Mesure.start(config, options { httpClient(client); onDiagnostic(diagnostics) }).use { mesure ->
            mesure.trackScreen("home", mapOf("page_chapter1" to "news"))
            mesure.trackClick(ClickKind.NAVIGATION, "open_article")
            val report = mesure.flushBlocking()
            assertEquals("a dry run counts what it would have sent", 2L, report.uploaded)
            assertEquals(0L, report.pending)
        }
        assertEquals(0, Collector.received().size())
        assertTrue("the HTTP client was never called", client.requests.isEmpty())
        val sent = diagnostics.sent()
        assertTrue(sent.isNotEmpty())
        assertTrue(sent.all { it.dryRun && it.status == null })
        assertEquals(listOf("page.display", "click.navigation"), sent.flatMap { s -> s.hits.map { it.event } })
    }

    @Test
    fun theDebugLogListsWhatWasSentHeldBackRefusedAndChanged() {
        val log = LogLines()
        val diagnostics = Diagnostics()
        Mesure.start(Env.config(), options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics); logSink(log); debugLog(true) }).useAndWait { mesure ->
            // Held back properties are reported by the core's storage thread, refusals at
            // once: a flush between them (it waits for every report) fixes their order.
            mesure.trackScreen("home", mapOf("user_id" to "u-1"))
            mesure.flushBlocking()
            mesure.track("Bad Name")
            mesure.setOptedOut(true)
            mesure.flushBlocking()
        }
        val sent = diagnostics.sent().single()
        val hit = sent.hits.single()
        assertEquals(
            listOf(
                "[mesure 7] running in mode exempt (epoch 0)",
                "[mesure 7] page.display: property \"user_id\" held back in mode exempt: not strictly necessary: not allowed in this visitor mode (not_allowed_in_mode)",
                "[mesure 7] sent 1 hit(s) for idclient ${sent.idclient.take(4)}… (HTTP 200): page.display [${hit.keys.joinToString(", ")}]",
                "[mesure 7] refused event \"Bad Name\": invalid event name \"Bad Name\": must start with a lower-case letter (invalid_event_name)",
                "[mesure 7] visitor mode exempt -> optout (set_by_app, epoch 1)",
                "[mesure 7] closed",
            ),
            log.at(LogLevel.DEBUG),
        )
        assertFalse("never a property value", log.lines.any { it.second.contains("u-1") })
        assertFalse("never the visitor id in clear (issue 16, leak 12)", log.lines.any { it.second.contains(sent.idclient) })

        // Off by default: nothing but warnings.
        val quiet = LogLines()
        Mesure.start(Env.config(), options { logSink(quiet) }).use { mesure ->
            mesure.track("Bad Name")
            mesure.flushBlocking()
        }
        assertEquals(emptyList<String>(), quiet.at(LogLevel.DEBUG))
    }

    @Test
    fun onTheDesktopJvmTheLogGoesToJavaUtilLogging() {
        val records = Collections.synchronizedList(mutableListOf<LogRecord>())
        val handler = object : Handler() {
            override fun publish(record: LogRecord) { records += record }
            override fun flush() {}
            override fun close() {}
        }
        val logger = Logger.getLogger("eu.mesure.Mesure")
        logger.addHandler(handler)
        logger.useParentHandlers = false
        try {
            Mesure.start(Env.config(), options { debugLog(true) }).use { mesure ->
                mesure.track("Bad Name")
                mesure.flushBlocking()
            }
        } finally {
            logger.removeHandler(handler)
            logger.useParentHandlers = true
        }
        val refused = records.single { it.message.contains("refused event") }
        assertEquals(Level.INFO, refused.level)
        assertEquals("[mesure 7] refused event \"Bad Name\": invalid event name \"Bad Name\": must start with a lower-case letter (invalid_event_name)", refused.message)
    }

    @Test
    fun aReleaseBuildKeepsTheDebugLogOffUnlessForcedByName() {
        val log = LogLines()
        Mesure.start(Env.config(), options { logSink(log); debugLog(true); releaseBuild(true) }).use { mesure ->
            mesure.trackScreen("home")
            mesure.flushBlocking()
        }
        assertEquals(emptyList<String>(), log.at(LogLevel.DEBUG))
        assertTrue(log.at(LogLevel.WARNING).single().contains("debug log is off in a release build"))

        val forced = LogLines()
        Mesure.start(Env.config(), options { logSink(forced); debugLog(true); releaseBuild(true); debugLogInReleaseBuild(true) }).use { mesure ->
            mesure.trackScreen("home")
            mesure.flushBlocking()
        }
        assertTrue(forced.at(LogLevel.DEBUG).any { it.contains("sent 1 hit(s)") })
    }

    @Test
    fun listenerCallbacksArriveOnOneNamedThreadThatEndsWithTheSdk() = repeated {
        val diagnostics = Diagnostics()
        Mesure.start(Env.config(), options { onDiagnostic(diagnostics) }).useAndWait { mesure ->
            mesure.track("Bad Name")
            mesure.track("Worse Name")
            mesure.flushBlocking()
        }
        val threads = synchronized(diagnostics.threads) { diagnostics.threads.toList() }
        assertEquals(2, threads.size)
        assertSame("one thread, kept attached between callbacks", threads[0], threads[1])
        assertEquals("mesure-listener", threads[0].name)
        assertTrue(threads[0].isDaemon)
        assertFalse("detached when the SDK's thread ended, at close", threads[0].isAlive)
    }
}
