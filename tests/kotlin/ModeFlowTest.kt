package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.MesureState
import eu.mesure.ffi.RunState
import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.ModeChangeReason
import eu.mesure.ffi.PurposeMode
import eu.mesure.ffi.PurposeConfig
import eu.mesure.ffi.VisitorMode
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** The StateFlow a settings screen collects stays in sync with the core. */
class ModeFlowTest {
    private val start = java.time.Instant.parse("2026-03-03T10:00:00Z").toEpochMilli()

    private fun config(dir: String = Env.tempDir()) = Env.config(siteId = 1, dir = dir)

    private fun Mesure.mode(): VisitorMode {
        awaitAppliedBlocking()
        return state.value.mode
    }

    @Test
    fun theToggleDrivesTheFlow() = repeated {
        Mesure.start(config()).use { mesure ->
            assertEquals(VisitorMode.Exempt, mesure.mode())
            assertTrue(mesure.state.value.ready)
            mesure.setOptedOut(true)
            // A collector sees it without any call to wait: the flow itself updates.
            runBlocking { withTimeout(30_000) { mesure.state.first { it.mode == VisitorMode.OptOut } } }
            mesure.setOptedOut(false)
            assertEquals(VisitorMode.Exempt, mesure.mode())
            mesure.setConsent(true)
            assertEquals(VisitorMode.OptIn, mesure.mode())
            mesure.setOptedOut(false)
            assertEquals("a switch left on never drops a consent", VisitorMode.OptIn, mesure.mode())
            mesure.setConsent(false)
            assertEquals(VisitorMode.Exempt, mesure.mode())
            mesure.setOptedOut(true)
            mesure.setConsent(false)
            assertEquals("declining keeps an opt-out", VisitorMode.OptOut, mesure.mode())
        }
    }

    @Test
    fun theStateSaysWhenTheSdkIsReadyAndCarriesThePurposes() {
        val clock = GatedClock()
        val purposes = listOf(PurposeConfig("advertising", listOf("ad_*")))
        Mesure.start(config().copy(purposes = purposes), options { clock(clock) }).use { mesure ->
            awaitLatch(clock.reached, "the core's start")
            val before = mesure.state.value
            assertEquals("the default until the core publishes", MesureState(VisitorMode.Exempt, false, emptyMap(), 0, RunState.Starting), before)
            assertFalse(before.ready)
            mesure.setPurposes(mapOf("advertising" to PurposeMode.OPT_IN))
            clock.open()
            mesure.awaitAppliedBlocking()
            val after = mesure.state.value
            assertTrue(after.ready)
            assertNull(after.error)
            assertEquals(PurposeMode.OPT_IN, after.purposes["advertising"])
            assertTrue(after.epoch >= 0)
        }
    }

    @Test
    fun aLapsedConsentReachesTheFlowAndAsksAgain() {
        val clock = ManualClock(start)
        val recorder = Recorder()
        val dir = Env.tempDir()
        Mesure.start(config(dir), options { clock(clock) }).useAndWait { mesure ->
            mesure.setMode(VisitorMode.OptIn)
            assertEquals(VisitorMode.OptIn, mesure.mode())
            val export = com.google.gson.JsonParser.parseString(mesure.exportLocalDataBlocking()).asJsonObject
            assertEquals("2026-09-03T10:00:00.000Z", export["current_mode"].asJsonObject["consent_expires_at"].asString)
            clock.set(java.time.Instant.parse("2026-09-03T10:00:00Z").toEpochMilli())
            // Any call notices the lapse; the listener then updates the flow.
            mesure.trackScreen("home")
            val lapsed = runBlocking { withTimeout(30_000) { mesure.state.first { it.mode == VisitorMode.Exempt } } }
            assertTrue(lapsed.consentRenewalNeeded)
        }
        // The same through the raw listener: the reason says why.
        MesureCore(config(dir), recorder, null, clock).use { core ->
            core.waitStarted()
            core.setMode(VisitorMode.OptIn)
            clock.advance(200L * 86_400_000)
            assertEquals(VisitorMode.Exempt, core.mode())
            core.flush()
            val last = recorder.changes.last()
            assertEquals(ModeChangeReason.CONSENT_EXPIRED, last.reason)
            assertTrue(last.consentRenewalNeeded)
            core.shutdown()
        }
    }

    @Test
    fun quickChangesEndOnTheLastOne() = repeated {
        Mesure.start(config()).use { mesure ->
            repeat(50) {
                mesure.setOptedOut(true)
                mesure.setConsent(true)
            }
            assertEquals(VisitorMode.OptIn, mesure.mode())
            // The listener's copies of the older changes arrive after: they change nothing.
            mesure.flushBlocking()
            assertEquals(VisitorMode.OptIn, mesure.state.value.mode)
            assertEquals(100L, mesure.state.value.epoch)
        }
    }

    @Test
    fun theChoiceSurvivesARestart() {
        val dir = Env.tempDir()
        Mesure.start(config(dir)).apply { setOptedOut(true) }.closeAndWait()
        Mesure.start(config(dir)).use { assertEquals(VisitorMode.OptOut, it.mode()) }
    }
}
