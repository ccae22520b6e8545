package eu.mesure.tests

import eu.mesure.DiagnosticListener
import eu.mesure.LogLevel
import eu.mesure.Mesure
import eu.mesure.MesureException
import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.VisitorMode
import java.util.Collections
import java.util.concurrent.CountDownLatch
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
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
        mesure.close()
        val state = mesure.state.value
        assertFalse(state.ready)
        assertTrue("${state.error}", state.error is MesureException.ShutDown)

        // Tracking and setters: ignored, no throw, one warning.
        mesure.track("page.display")
        mesure.trackScreen("home")
        mesure.trackClick(ClickKind.ACTION, "buy")
        mesure.setOptedOut(true)
        mesure.setConsent(true)
        mesure.setMode(VisitorMode.OptOut)
        assertEquals(listOf("track ignored: the SDK is shut down (later calls are ignored too; the debug log lists them)"), log.at(LogLevel.WARNING))
        assertTrue(errors.isEmpty())

        // Waiting operations: the documented ShutDown, with a sentence.
        val e = assertThrows(MesureException.ShutDown::class.java) { mesure.flushBlocking() }
        assertEquals("the SDK is shut down", e.message)
        assertThrows(MesureException.ShutDown::class.java) { mesure.exportLocalDataBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.deleteLocalDataBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.statsBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.awaitAppliedBlocking() }
        assertThrows(MesureException.ShutDown::class.java) { mesure.complianceReportJsonBlocking() }
        runBlocking {
            try {
                mesure.flush()
                fail("flush after close")
            } catch (_: MesureException.ShutDown) {
            }
        }
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
                mesure.close()
                closed.countDown()
            }
        }
        mesure = Mesure.start(Env.config(), options { onDiagnostic(listener) })
        mesure.track("Bad Name")
        awaitLatch(closed, "close() to return inside the callback")
        runBlocking { withTimeout(30_000) { mesure.state.first { it.error is MesureException.ShutDown } } }
        mesure.close()
    }

    @Test
    fun aBlockingCallFromACallbackIsRefusedInsteadOfStalling() = repeated {
        val refused = Collections.synchronizedList(mutableListOf<Throwable>())
        val done = CountDownLatch(1)
        lateinit var mesure: Mesure
        val listener = DiagnosticListener { d ->
            if (d is Diagnostic.TrackRefused) {
                for (call in listOf({ mesure.flushBlocking() }, { mesure.awaitAppliedBlocking() })) {
                    try {
                        call()
                    } catch (t: Throwable) {
                        refused += t
                    }
                }
                done.countDown()
            }
        }
        mesure = Mesure.start(Env.config(), options { onDiagnostic(listener) })
        mesure.use {
            it.track("Bad Name")
            awaitLatch(done, "the callback")
            assertEquals(2, refused.size)
            val first = refused[0] as MesureException.CalledFromSdkThread
            assertEquals("flushBlocking", first.operation)
            assertEquals("flushBlocking cannot be called from the SDK's own threads", first.message)
            assertEquals("awaitAppliedBlocking", (refused[1] as MesureException.CalledFromSdkThread).operation)
            // Outside the callback the same call works.
            it.flushBlocking()
        }
    }
}
