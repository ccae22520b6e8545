package eu.mesure.tests

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.LogLevel
import eu.mesure.Mesure
import eu.mesure.ffi.Diagnostic
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Program order across the hand-off to the wrapper's thread, before and
 * after the core is ready. The slow start is a clock held at its gate
 * while the core reads it, released when the test says.
 */
class OrderTest {
    @Test
    fun callsMadeBeforeTheCoreIsReadyArriveInOrder() = repeated {
        Collector.reset()
        val clock = GatedClock()
        Mesure.start(Env.config(), options { httpClient(HttpUrlConnectionClient()); clock(clock) }).use { mesure ->
            awaitLatch(clock.reached, "the core's start")
            repeat(30) { mesure.trackScreen("s$it") }
            mesure.setConsent(true)
            repeat(30) { mesure.trackScreen("c$it", mapOf("seq" to it)) }
            assertFalse("the core is still starting", mesure.state.value.ready)
            clock.open()
            mesure.flushBlocking()
        }
        val events = receivedEvents()
        assertEquals((0 until 30).map { "s$it" } + (0 until 30).map { "c$it" }, events.map { it["page"].asString })
        assertEquals(List(30) { "exempt" } + List(30) { "optin" }, events.map { it["visitor_privacy_mode"].asString })
        assertEquals((0 until 30).toList(), events.drop(30).map { it["seq"].asInt })
    }

    @Test
    fun anOptOutFiltersTheTrackMadeRightAfterIt() = repeated { round ->
        Collector.reset()
        val diagnostics = Diagnostics()
        // Every other round, all of it before the core is ready.
        val clock = GatedClock().takeIf { round % 2 == 1 }
        Mesure.start(Env.config(), options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics); clock(clock) }).use { mesure ->
            for (i in 0 until 50) {
                mesure.setOptedOut(i % 2 == 0)
                mesure.trackScreen("p$i")
            }
            clock?.open()
            mesure.flushBlocking()
            val stats = mesure.statsBlocking()
            assertEquals("the 25 tracks made right after an opt-out are held back", 25L, stats.eventsDroppedByMode)
            assertEquals(25L, stats.accepted)
        }
        assertEquals(List(25) { "opt_out_sends_nothing" }, diagnostics.dropped().map { it.reason })
        // Each opt-out deleted the hit tracked before it: only the last one is left to send.
        assertEquals(listOf("p49"), receivedEvents().map { it["page"].asString })
    }

    @Test
    fun aFullQueueDropsTheOldestTracksButNeverAModeChange() = repeated {
        Collector.reset()
        val clock = GatedClock()
        val diagnostics = Diagnostics()
        val log = LogLines()
        val opts = options { httpClient(HttpUrlConnectionClient()); clock(clock); onDiagnostic(diagnostics); logSink(log); queueCapacity(2) }
        Mesure.start(Env.config(), opts).use { mesure ->
            awaitLatch(clock.reached, "the core's start")
            mesure.trackScreen("a")
            mesure.trackScreen("b")
            mesure.setConsent(true)
            mesure.trackScreen("c")
            mesure.trackScreen("d")
            clock.open()
            mesure.flushBlocking()
        }
        assertEquals(listOf("c", "d"), receivedEvents().map { it["page"].asString })
        assertEquals("the consent between the dropped tracks held", listOf("optin", "optin"), receivedEvents().map { it["visitor_privacy_mode"].asString })
        val backpressure = diagnostics.snapshot().filterIsInstance<Diagnostic.Backpressure>()
        assertEquals(listOf(2L), backpressure.map { it.dropped })
        assertTrue(
            log.at(LogLevel.WARNING).toString(),
            log.at(LogLevel.WARNING).contains("2 track call(s) dropped: more than 2 tracks were waiting for the SDK (backpressure)"),
        )
    }
}
