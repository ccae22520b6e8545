package eu.mesure.tests

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.RunState
import eu.mesure.ffi.VisitorMode
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Program order across the start: calls made before the core's store is
 * open wait in the core, in order. The slow start is a clock held at its gate
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
    fun anOptOutMadeBeforeTheStartFiltersTheTrackAfterIt() = repeated {
        val clock = GatedClock()
        val diagnostics = Diagnostics()
        Mesure.start(Env.config(), options { httpClient(CaptureClient()); clock(clock); onDiagnostic(diagnostics) }).use { mesure ->
            awaitLatch(clock.reached, "the core's start")
            mesure.setOptedOut(true)
            mesure.trackScreen("home")
            assertEquals("both calls wait in the core", RunState.Starting, mesure.state.value.run)
            clock.open()
            mesure.flushBlocking()
            val stats = mesure.statsBlocking()
            assertEquals(0L, stats.accepted)
            assertEquals(1L, stats.eventsDroppedByMode)
            assertEquals(VisitorMode.OptOut, mesure.state.value.mode)
            assertTrue(mesure.state.value.ready)
        }
        assertEquals(listOf("opt_out_sends_nothing"), diagnostics.dropped().map { it.reason })
    }

    @Test
    fun aFullStartQueueDropsTheOldestTracksButNeverAModeChange() = repeated {
        val clock = GatedClock()
        val diagnostics = Diagnostics()
        Mesure.start(Env.config(), options { httpClient(CaptureClient()); clock(clock); onDiagnostic(diagnostics) }).use { mesure ->
            awaitLatch(clock.reached, "the core's start")
            mesure.trackScreen("a")
            mesure.trackScreen("b")
            mesure.setOptedOut(true)
            // The core keeps 10 000 waiting tracks: these push out "a" and "b", never the opt-out.
            repeat(10_000) { mesure.trackScreen("x") }
            clock.open()
            mesure.flushBlocking()
            val stats = mesure.statsBlocking()
            assertEquals("a and b were dropped before the start", 0L, stats.accepted)
            assertEquals("the opt-out between them held", 10_000L, stats.eventsDroppedByMode)
            assertEquals(VisitorMode.OptOut, mesure.state.value.mode)
        }
        val backpressure = diagnostics.snapshot().filterIsInstance<Diagnostic.Backpressure>()
        assertEquals(2L, backpressure.sumOf { it.dropped })
    }
}
