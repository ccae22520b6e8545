package eu.mesure.tests

import eu.mesure.DiagnosticListener
import eu.mesure.LogLevel
import eu.mesure.Mesure
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.RunState
import eu.mesure.ffi.VisitorMode
import java.util.Collections
import java.util.concurrent.CountDownLatch
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** Start, the waiting operations, close and what comes after. */
class LifecycleTest {
    @Test
    fun closingTwiceIsFineAndLaterCallsBehaveAsDocumented() {
        val log = LogLines()
        val errors = Collections.synchronizedList(mutableListOf<MesureException>())
        val mesure = Mesure.start(Env.config(), options { logSink(log); onError { errors += it } })
        mesure.trackScreen("home")
        mesure.close()
        mesure.closeAndWait()
        mesure.close()
        val state = mesure.state.value
        assertEquals(RunState.Closed, state.run)
        assertFalse(state.ready)
        assertNull(state.error)

        // Tracking and setters: ignored, no throw, one warning.
        mesure.track("page.display")
        mesure.trackScreen("home")
        mesure.trackClick(ClickKind.ACTION, "buy")
        mesure.setOptedOut(true)
        mesure.setConsent(true)
        mesure.setMode(VisitorMode.OptOut)
        assertEquals(listOf("track ignored after close (later calls are ignored too; the debug log lists them)"), log.at(LogLevel.WARNING))
        assertTrue(errors.isEmpty())

        // Waiting operations: the documented ShutDown, printed as a sentence.
        val e = assertThrows(MesureException.ShutDown::class.java) { mesure.flushBlocking() }
        assertEquals("the SDK is shut down", e.toString())
        assertThrows(MesureException.ShutDown::class.java) { mesure.exportLocalDataBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.deleteLocalDataBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.statsBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.awaitAppliedBlocking() }
        runBlocking {
            try {
                mesure.flush()
                fail("flush after close")
            } catch (_: MesureException.ShutDown) {
            }
        }
    }

    @Test
    fun closeDuringTheStartReturnsAtOnceAndTheSdkEndsClosed() = repeated {
        val clock = GatedClock()
        val mesure = Mesure.start(Env.config(), options { clock(clock) })
        awaitLatch(clock.reached, "the core's start")
        mesure.setOptedOut(true)
        // The core is still starting: close must not wait for it.
        mesure.close()
        assertEquals(RunState.Starting, mesure.state.value.run)
        clock.open()
        runBlocking { withTimeout(30_000) { mesure.state.first { it.run == RunState.Closed } } }
        mesure.closeAndWait()
        assertThrows(MesureException.ShutDown::class.java) { mesure.awaitAppliedBlocking() }
    }

    @Test
    fun theSuspendVariantsRunInOrderWithTheCalls() {
        Collector.reset()
        Mesure.start(Env.config(), options { httpClient(eu.mesure.HttpUrlConnectionClient()) }).use { mesure ->
            runBlocking {
                mesure.trackScreen("home")
                assertEquals(1L, mesure.stats().accepted)
                assertEquals(1L, mesure.flush().uploaded)
                mesure.setOptedOut(true)
                mesure.awaitApplied()
                assertEquals(VisitorMode.OptOut, mesure.state.value.mode)
                val export = com.google.gson.JsonParser.parseString(mesure.exportLocalData()).asJsonObject
                assertEquals("optout", export["current_mode"].asJsonObject["mode"].asString)
                assertEquals(0L, mesure.deleteLocalData())
                assertTrue(mesure.complianceReportMarkdown().isNotBlank())
                assertTrue(mesure.complianceReportJson().startsWith("{"))
            }
        }
    }

    @Test
    fun closeFromADiagnosticsCallbackReturnsAndTheSdkStops() = repeated {
        val closed = CountDownLatch(1)
        lateinit var mesure: Mesure
        val listener = DiagnosticListener { d ->
            if (d is Diagnostic.TrackRefused) {
                mesure.closeAndWait()
                closed.countDown()
            }
        }
        mesure = Mesure.start(Env.config(), options { onDiagnostic(listener) })
        mesure.track("Bad Name")
        awaitLatch(closed, "closeAndWait() to return inside the callback")
        runBlocking { withTimeout(30_000) { mesure.state.first { it.run == RunState.Closed } } }
        mesure.close()
    }

    @Test
    fun aBlockingCallFromACallbackAnswersInsteadOfStalling() = repeated {
        val answered = Collections.synchronizedList(mutableListOf<Any>())
        val done = CountDownLatch(1)
        lateinit var mesure: Mesure
        val listener = DiagnosticListener { d ->
            if (d is Diagnostic.TrackRefused) {
                for (call in listOf({ mesure.flushBlocking() }, { mesure.awaitAppliedBlocking() }, { mesure.statsBlocking() })) {
                    try {
                        answered.add(call())
                    } catch (t: Throwable) {
                        answered += t
                    }
                }
                done.countDown()
            }
        }
        mesure = Mesure.start(Env.config(), options { onDiagnostic(listener) })
        mesure.use {
            it.track("Bad Name")
            awaitLatch(done, "the callback")
            assertEquals(3, answered.size)
            assertTrue("$answered", answered.none { a -> a is Throwable })
            // Outside the callback the same call works.
            it.flushBlocking()
        }
    }
}
