package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.ModeChangeReason
import eu.mesure.ffi.VisitorMode
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The StateFlow a settings screen collects stays in sync with the core. */
class ModeFlowTest {
    private val start = java.time.Instant.parse("2026-03-03T10:00:00Z").toEpochMilli()

    private fun config(dir: String = Env.tempDir()) =
        MesureConfig(collectEndpoint = Env.collectorUrl, siteId = 1, storageDir = dir, flushIntervalMs = 3_600_000L)

    @Test
    fun theToggleDrivesTheFlow() {
        Mesure.start(config()).use { mesure ->
            assertEquals(VisitorMode.Exempt, mesure.mode.value)
            mesure.setOptedOut(true)
            runBlocking { withTimeout(5_000) { mesure.mode.first { it == VisitorMode.OptOut } } }
            mesure.setOptedOut(false)
            runBlocking { withTimeout(5_000) { mesure.mode.first { it == VisitorMode.Exempt } } }
            mesure.setConsent(true)
            assertEquals(VisitorMode.OptIn, mesure.mode.value)
            mesure.setOptedOut(false)
            assertEquals("a switch left on never drops a consent", VisitorMode.OptIn, mesure.mode.value)
            mesure.setConsent(false)
            assertEquals(VisitorMode.Exempt, mesure.mode.value)
            mesure.setOptedOut(true)
            mesure.setConsent(false)
            assertEquals("declining keeps an opt-out", VisitorMode.OptOut, mesure.mode.value)
        }
    }

    @Test
    fun aLapsedConsentReachesTheFlowAndAsksAgain() {
        val clock = ManualClock(start)
        val recorder = Recorder()
        val dir = Env.tempDir()
        Mesure.start(config(dir), clock = clock).use { mesure ->
            mesure.setMode(VisitorMode.OptIn)
            assertEquals(java.time.Instant.parse("2026-09-03T10:00:00Z").toEpochMilli(), mesure.modeStatus.consentExpiresAtMs)
            clock.set(java.time.Instant.parse("2026-09-03T10:00:00Z").toEpochMilli())
            // Any call notices the lapse; the listener then updates the flow.
            mesure.trackScreen("home")
            runBlocking { withTimeout(5_000) { mesure.mode.first { it == VisitorMode.Exempt } } }
            assertTrue(mesure.modeStatus.consentRenewalNeeded)
        }
        // The same through the raw listener: the reason says why.
        eu.mesure.ffi.MesureCore(config(dir), recorder, null, clock).use { core ->
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
    fun anOlderStateNeverReplacesANewerOne() {
        // The caller and the listener's thread both publish; whichever comes
        // last, the flow shows the newest state.
        val published = Mesure.Published(VisitorMode.Exempt)
        published.offer(VisitorMode.OptOut, 2L)
        published.offer(VisitorMode.OptIn, 1L)
        assertEquals(VisitorMode.OptOut, published.flow.value)
        published.offer(VisitorMode.Exempt, 3L)
        assertEquals(VisitorMode.Exempt, published.flow.value)
    }

    @Test
    fun quickChangesEndOnTheLastOne() {
        Mesure.start(config()).use { mesure ->
            repeat(50) {
                mesure.setOptedOut(true)
                mesure.setConsent(true)
            }
            assertEquals(VisitorMode.OptIn, mesure.mode.value)
            // The listener's copies of the older changes arrive after: they change nothing.
            mesure.flush()
            assertEquals(VisitorMode.OptIn, mesure.mode.value)
            assertEquals(100L, mesure.modeStatus.epoch)
        }
    }

    @Test
    fun theChoiceSurvivesARestart() {
        val dir = Env.tempDir()
        Mesure.start(config(dir)).use { it.setOptedOut(true) }
        Mesure.start(config(dir)).use { assertEquals(VisitorMode.OptOut, it.mode.value) }
    }
}
