package eu.mesure.tests

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import eu.mesure.HttpUrlConnectionClient
import eu.mesure.Mesure
import eu.mesure.EncodedCall
import eu.mesure.PropertyConvertible
import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.ClickKind
import eu.mesure.ffi.PropertyValue
import eu.mesure.propertyValue
import java.io.File
import java.net.URI
import java.time.Instant
import java.util.Date
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Before
import org.junit.Test

/**
 * What the app's values become (the conversion table of docs/PROPERTIES.md,
 * the same cases as Swift's TrackingInputTests), and bad input through
 * every track call: nothing throws, nothing blocks, and each problem
 * arrives as exactly the diagnostic the core decides.
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

    /** An app's enum that converts itself. */
    private enum class Section : PropertyConvertible {
        NEWS, SPORT;

        override fun toPropertyValue(): PropertyValue = PropertyValue.Text(name.lowercase())
    }

    /** The Kotlin value of each case of the table that names a Kotlin type. */
    @OptIn(ExperimentalUnsignedTypes::class)
    private fun tableInputs(): Map<String, Any?> = mapOf(
        "text" to "héllo",
        "int8" to (-8).toByte(),
        "int16" to (-300).toShort(),
        "int32" to Int.MAX_VALUE,
        "int64" to Long.MIN_VALUE,
        "int_exact" to 9_007_199_254_740_993L,
        "uint8" to 255.toUByte(),
        "uint16" to UShort.MAX_VALUE,
        "uint32" to UInt.MAX_VALUE,
        "uint64_fits" to Long.MAX_VALUE.toULong(),
        "uint64_above" to ULong.MAX_VALUE,
        "uint_above" to Long.MAX_VALUE.toULong() + 1u,
        "double" to 0.1,
        "double_infinite" to Double.NEGATIVE_INFINITY,
        "float_tenth" to 0.1f,
        "float_third" to 1f / 3,
        "float_large" to 1.1884683e13f,
        "float_max" to Float.MAX_VALUE,
        "float_min" to Float.MIN_VALUE,
        "float_nan" to Float.NaN,
        "bool" to true,
        "date" to Date(1_772_532_000_500L),
        "instant" to Instant.ofEpochMilli(-1_500L),
        "date_rounded_down" to Instant.ofEpochSecond(0, -400_000),
        "date_out_of_range" to Instant.MAX,
        "null" to null,
        "property_value" to PropertyValue.Integer(9),
        "convertible" to Section.NEWS,
        "convertible_null" to PropertyConvertible { null },
        "list_text" to listOf("b", "a"),
        "list_with_nulls" to listOf("a", null, "b"),
        "list_integers" to listOf<Any>(1, 2L, 3.toShort()),
        "list_numbers" to listOf<Any>(1, 2.5),
        "list_floats" to listOf(0.1f, 0.25f),
        "list_uint64_above" to listOf(1uL, ULong.MAX_VALUE),
        "list_bools" to listOf(true, false),
        "list_dates" to listOf(Date(1_772_532_000_000L)),
        "list_empty" to emptyList<Int>(),
        "list_convertibles" to listOf(Section.NEWS, Section.SPORT),
        "list_property_values" to listOf(PropertyValue.Integer(1), PropertyValue.Decimal(0.5)),
        "list_mixed" to listOf<Any>("a", 1),
        "list_nested" to listOf(listOf(1, 2), listOf(3, 4)),
        "array_text" to arrayOf("b", "a"),
        "array_int" to intArrayOf(3, 1),
        "array_float" to floatArrayOf(0.1f),
        "array_ulong" to ulongArrayOf(ULong.MAX_VALUE),
        "array_empty" to IntArray(0),
        "set_text" to setOf("b", "a", "c"),
        "set_code_points" to setOf("z", "\uD83D\uDE00", "\uFF21", "\u00E9"),
        "set_integers" to setOf(3, -1, 2),
        "set_decimals" to setOf(2.5, -0.5, 1.0),
        "set_bools" to setOf(true, false),
        "set_dates" to setOf(Date(1_772_532_001_000L), Date(1_772_532_000_000L)),
        "set_uint64" to setOf(ULong.MAX_VALUE, Long.MAX_VALUE.toULong() + 1u, 5uL),
        "set_mixed" to setOf<Any>("a", 1),
        "map" to mapOf("a" to 1),
        "link" to URI("https://example.com"),
        "character" to 'x',
    )

    private val table: JsonObject by lazy {
        JsonParser.parseString(File(Env.vectorsDir, "property_conversions.json").readText()).asJsonObject
    }

    private fun conversions(): List<JsonObject> = table.getAsJsonArray("conversions").map { it.asJsonObject }

    /** A row's `sent`: null (left out), `{"unsupported": {"kotlin": name}}`, a float "NaN" or "-Infinity", or a vector value. */
    private fun sent(x: JsonElement): PropertyValue? {
        if (x.isJsonNull) return null
        val o = x.takeIf { it.isJsonObject }?.asJsonObject
        o?.getAsJsonObject("unsupported")?.let { return PropertyValue.Unsupported(it["kotlin"].asString) }
        o?.get("float")?.takeIf { it.isJsonPrimitive && it.asJsonPrimitive.isString }?.let { return PropertyValue.Decimal(it.asString.toDouble()) }
        return vectorValue(x)
    }

    @Test
    fun everyValueConvertsAsTheTableSays() {
        val rows = conversions().filter { it.has("kotlin") }
        val inputs = tableInputs()
        assertEquals("one Kotlin value per case naming a Kotlin type", rows.map { it["case"].asString }.sorted(), inputs.keys.sorted())
        val wrong = rows.mapNotNull { row ->
            val case = row["case"].asString
            val expected = sent(row["sent"])
            val got = inputs[case]?.let(::propertyValue)
            if (got == expected) null else "$case (${row["kotlin"].asString}): expected $expected, got $got"
        }
        assertEquals("cases converted otherwise than the table says", emptyList<String>(), wrong)
    }

    /** The vector's steps send every value the table sends (so the request shows each on the wire). */
    @Test
    fun theTableVectorTracksEveryValueTheTableSends() {
        val sendable = conversions().filter { row ->
            val v = sent(row["sent"])
            v != null && v !is PropertyValue.Unsupported && !(v is PropertyValue.Decimal && !v.value.isFinite())
        }
        val tracked = table.getAsJsonArray("steps").map { it.asJsonObject }.single { it.has("track") }
            .getAsJsonObject("track").getAsJsonObject("properties")
        assertEquals(sendable.associate { it["case"].asString to it["sent"] }, tracked.entrySet().associate { it.key to it.value })
    }

    /** The bytes mesure-core's `encoded.rs` documents (its test `the_byte_layout_is_the_documented_one`). */
    @Test
    fun theCallBufferHasTheCoresLayout() {
        val call = EncodedCall(EncodedCall.SCREEN, "Home").apply {
            property("n", PropertyValue.Integer(-2))
            property("b", PropertyValue.Flag(true))
        }
        val expected = intArrayOf(
            1, 1, 4, 0, 0, 0, 'H'.code, 'o'.code, 'm'.code, 'e'.code, 2, 0, 0, 0,
            1, 0, 0, 0, 'n'.code, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            1, 0, 0, 0, 'b'.code, 3, 1,
        ).map { it.toByte() }.toByteArray()
        assertArrayEquals(expected, call.finish())
        // UTF-8 by hand: a pair is one 4-byte scalar, an unpaired surrogate U+FFFD.
        val text = EncodedCall(EncodedCall.TRACK, "a\uD83C\uDFB5\uD800\u00e9").finish()
        assertArrayEquals(byteArrayOf(10, 0, 0, 0, 0x61, 0xF0.toByte(), 0x9F.toByte(), 0x8E.toByte(), 0xB5.toByte(), 0xEF.toByte(), 0xBF.toByte(), 0xBD.toByte(), 0xC3.toByte(), 0xA9.toByte()), text.copyOfRange(2, 16))
    }

    /**
     * Every value of the table, through the wrapper (one buffer, one FFI
     * call) and through the generated map call, leaves as the same JSON; an
     * unpaired surrogate, which the generated call cannot lower (it throws),
     * leaves as U+FFFD from the wrapper.
     */
    @Test
    fun theOneBufferCallSendsWhatTheMapCallSends() {
        val inputs = tableInputs().filterValues { it != null }
        Mesure.start(Env.config(), options { httpClient(HttpUrlConnectionClient()) }).use { mesure ->
            mesure.setConsent(true)
            mesure.trackScreen("table", inputs + ("lone" to "a\uD800b"))
            mesure.trackClick(ClickKind.DOWNLOAD, "table", inputs)
            assertEquals(2L, mesure.flushBlocking().uploaded)
        }
        val wrapper = receivedEvents()
        Collector.reset()
        MesureCore(Env.config(), null, HttpUrlConnectionClient(), null).use { core ->
            core.setConsent(true)
            val values = inputs.mapNotNull { (k, v) -> propertyValue(v!!)?.let { k to it } }.toMap()
            core.trackScreen("table", values)
            core.trackClick(ClickKind.DOWNLOAD, "table", values)
            assertEquals(2L, core.flush().uploaded)
            core.shutdown()
        }
        val generated = receivedEvents()
        assertEquals(2, wrapper.size)
        assertEquals(2, generated.size)
        for ((w, g) in wrapper.zip(generated)) {
            val keys = g.keySet().filter { it in inputs || it == "page" || it == "click" }
            assertEquals(keys.sorted(), w.keySet().filter { it in inputs || it == "page" || it == "click" }.sorted())
            for (k in keys) assertEquals(k, g[k], w[k])
        }
        assertEquals("a\uFFFDb", wrapper[0]["lone"].asString)
    }
}
