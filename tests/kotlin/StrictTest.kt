package eu.mesure.tests

import eu.mesure.Mesure
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.VisitorMode
import java.net.URI
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Test

/** Strict mode throws what the default mode reports. */
class StrictTest {
    @Test
    fun strictModeThrowsTrackRefusedAndTheSettersErrors() {
        val mesure = Mesure.start(Env.config(), options { strict(true) })
        mesure.use {
            val e1 = assertThrows(MesureException.TrackRefused::class.java) { it.track("Page Display") }
            assertEquals("invalid_event_name", e1.reason)
            assertEquals("invalid event name \"Page Display\": must start with a lower-case letter", e1.toString())
            val e2 = assertThrows(MesureException.TrackRefused::class.java) { it.trackScreen("") }
            assertEquals("empty_name", e2.reason)
            assertEquals("the page name is empty", e2.toString())
            val many = (0 until 101).associate { i -> "p$i" to i }
            val e3 = assertThrows(MesureException.TrackRefused::class.java) { it.trackClick(ClickKind.ACTION, "buy", many) }
            assertEquals("too_many_properties", e3.reason)
            assertEquals("102 properties in one event; at most 100 are accepted", e3.toString())
            val e4 = assertThrows(MesureException.TrackRefused::class.java) { it.track("page.display", mapOf("link" to URI("https://example.com"))) }
            assertEquals("unsupported_value", e4.reason)
            assertEquals(
                "property \"link\": a value of type java.net.URI cannot be sent: use text, a number, a boolean, a date or a list of one of those",
                e4.explanation,
            )
            val e5 = assertThrows(MesureException.UnknownMode::class.java) { it.setMode(VisitorMode.Custom("nope")) }
            assertEquals("unknown visitor mode \"nope\"", e5.toString())

            it.trackScreen("home")
            it.setOptedOut(true)
            // Each call answered with its own outcome; the state follows once applied.
            it.awaitAppliedBlocking()
            assertEquals(VisitorMode.OptOut, it.state.value.mode)
            assertEquals("only the valid track was queued", 1L, it.statsBlocking().accepted)
        }
        mesure.closeAndWait()
        assertThrows(MesureException.ShutDown::class.java) { mesure.trackScreen("home") }
        assertThrows(MesureException.ShutDown::class.java) { mesure.setConsent(true) }
    }
}
