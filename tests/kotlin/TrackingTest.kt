package eu.mesure.tests

import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.ffi.ClickKind
import java.net.URI
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Before
import org.junit.Test

/**
 * Bad input through every track call: nothing throws, nothing blocks, and
 * each problem arrives as exactly the diagnostic the core decides.
 */
class TrackingTest {
    @Before
    fun reset() = Collector.reset()

    private val many: Map<String, Any?> = (0 until 501).associate { "p$it" to it }
    private val twice: Map<String, Any?> = mapOf("Title" to "a", "title" to "b")

    /** Java maps may hold a null key; a Kotlin caller cannot write one. */
    @Suppress("UNCHECKED_CAST")
    private fun odd(): Map<String, Any?> = HashMap<String?, Any?>().apply {
        put(null, "a null key")
        put("ratio", Double.NaN)
        put("body", "x".repeat(100_000))
        put("link", URI("https://example.com/a"))
        put("author", null)
        put("tags", listOf("a", null, "b"))
        put("mixed", listOf("a", 1))
        put("n", 1)
    } as Map<String, Any?>

    @Test
    fun badInputThroughEveryTrackCallIsReportedExactlyAndNeverThrows() {
        val diagnostics = Diagnostics()
        Mesure.start(Env.config(), options { httpClient(HttpUrlConnectionClient()); onDiagnostic(diagnostics) }).use { mesure ->
            mesure.setConsent(true)
            mesure.track("Page Display")
            mesure.track("")
            mesure.track("page.display", many)
            mesure.track("page.display", twice)
            mesure.trackScreen("")
            mesure.trackScreen("   ")
            mesure.trackScreen("home", many)
            mesure.trackScreen("home", twice)
            mesure.trackClick(ClickKind.ACTION, "")
            mesure.trackClick(ClickKind.ACTION, "buy", many)
            mesure.trackClick(ClickKind.ACTION, "buy", twice)
            mesure.track("article.read", odd())
            mesure.trackScreen("article", odd())
            mesure.trackClick(ClickKind.NAVIGATION, "open", odd())
            val report = mesure.flushBlocking()
            assertEquals("the three events with odd properties leave; the refused ones never queue", 3L, report.uploaded)
            assertEquals(3L, mesure.statsBlocking().accepted)
        }

        val dup = "property \"title\" appears twice once keys are lower-cased"
        assertEquals(
            listOf(
                Triple("Page Display", "invalid_event_name", "invalid event name \"Page Display\": must start with a lower-case letter"),
                Triple("", "invalid_event_name", "invalid event name \"\": empty"),
                Triple("page.display", "too_many_properties", "501 properties in one event; at most 100 are accepted"),
                Triple("page.display", "duplicate_property", dup),
                Triple("page.display", "empty_name", "the page name is empty"),
                Triple("page.display", "empty_name", "the page name is empty"),
                Triple("page.display", "too_many_properties", "502 properties in one event; at most 100 are accepted"),
                Triple("page.display", "duplicate_property", dup),
                Triple("click.action", "empty_name", "the click name is empty"),
                Triple("click.action", "too_many_properties", "502 properties in one event; at most 100 are accepted"),
                Triple("click.action", "duplicate_property", dup),
            ),
            diagnostics.refused().map { Triple(it.event, it.reason, it.message) },
        )

        // Per event, the properties in key order: what was cut, what was dropped and why.
        val perEvent = listOf(
            listOf("", "invalid_name"),
            listOf("body", "truncated"),
            listOf("link", "unsupported_value"),
            listOf("mixed", "unsupported_value"),
            listOf("ratio", "non_finite_number"),
        )
        assertEquals(
            listOf("article.read", "page.display", "click.navigation").flatMap { e -> perEvent.map { listOf(e) + it } },
            diagnostics.dropped().map { listOf(it.event, it.property, it.reason) },
        )
        val link = diagnostics.dropped().first { it.property == "link" }
        assertEquals("a value of type java.net.URI cannot be sent: use text, a number, a boolean, a date or a list of one of those", link.explanation)
        val mixed = diagnostics.dropped().first { it.property == "mixed" }
        assertEquals(
            "a value of type java.util.Arrays\$ArrayList of java.lang.Integer and java.lang.String cannot be sent: use text, a number, a boolean, a date or a list of one of those",
            mixed.explanation,
        )

        // On the wire: the long text cut to 1000 characters, nulls left out, the rest gone.
        val events = receivedEvents()
        assertEquals(3, events.size)
        for (data in events) {
            assertEquals(1000, data["body"].asString.length)
            assertEquals(listOf("a", "b"), data["tags"].asJsonArray.map { it.asString })
            assertEquals(1, data["n"].asInt)
            for (gone in listOf("", "ratio", "link", "author", "mixed")) assertFalse(gone, data.has(gone))
        }
    }
}
