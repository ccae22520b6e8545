package eu.mesure.tests

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import eu.mesure.ffi.AllowedProperty
import eu.mesure.ffi.CustomMode
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.MesureCore
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.PropertyRule
import eu.mesure.ffi.PropertyValue
import eu.mesure.ffi.PurposeConfig
import eu.mesure.ffi.purposeModeFromName
import eu.mesure.ffi.purposeModeName
import eu.mesure.ffi.TrackOutcome
import eu.mesure.ffi.sdkVersion
import eu.mesure.ffi.visitorModeFromName
import eu.mesure.ffi.visitorModeName
import java.io.File
import java.time.OffsetDateTime
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized

/**
 * Runs every vector file of tests/vectors through the generated Kotlin bindings:
 * the same files, the same expectations as the Rust and Swift runners.
 */
@RunWith(Parameterized::class)
class ConformanceTest(private val name: String, private val file: File) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun vectors(): List<Array<Any>> {
            val files = Env.vectorsDir.listFiles { f -> f.name.endsWith(".json") }?.sortedBy { it.name }.orEmpty()
            check(files.size >= 26) { "vectors missing in ${Env.vectorsDir}" }
            return files.map { arrayOf(it.nameWithoutExtension, it) }
        }
    }

    private fun purposeMode(name: String) = purposeModeFromName(name) ?: error("purpose mode $name")

    private fun str(o: JsonObject, k: String): String? = o.get(k)?.takeUnless { it.isJsonNull }?.asString

    private fun config(v: JsonObject, storage: String): MesureConfig {
        var c = MesureConfig(collectEndpoint = "https://collect.example.test", siteId = 0, storageDir = storage, flushIntervalMs = 3_600_000L)
        for ((k, x) in v.entrySet()) {
            c = when (k) {
                "site_id" -> c.copy(siteId = x.asLong)
                "default_mode" -> c.copy(defaultMode = visitorModeFromName(x.asString))
                "send_hits_in_opt_out" -> c.copy(sendHitsInOptOut = x.asBoolean)
                "consent_lifetime_months" -> c.copy(consentLifetimeMonths = x.asInt)
                "queue_max_hits" -> c.copy(queueMaxHits = x.asInt)
                "queue_max_age_days" -> c.copy(queueMaxAgeDays = x.asInt)
                "batch_size" -> c.copy(batchSize = x.asInt)
                "exempt_allowlist" -> c.copy(exemptAllowlist = x.asJsonArray.map { allowed(it.asJsonObject) })
                "forbidden_events" -> c.copy(forbiddenEvents = x.asJsonArray.map { it.asString })
                "anonymous_events" -> c.copy(anonymousEvents = x.asJsonArray.map { it.asString })
                "purposes" -> c.copy(purposes = x.asJsonArray.map {
                    val o = it.asJsonObject
                    PurposeConfig(name = o["name"].asString, properties = o.getAsJsonArray("properties")?.map { p -> p.asString }.orEmpty())
                })
                "forbidden_properties" -> c.copy(forbiddenProperties = x.asJsonArray.map {
                    val o = it.asJsonObject
                    PropertyRule(property = o["property"].asString, events = str(o, "events") ?: "*")
                })
                "custom_modes" -> c.copy(customModes = x.asJsonArray.map {
                    val o = it.asJsonObject
                    CustomMode(
                        name = o["name"].asString,
                        allowedEvents = o.getAsJsonArray("allowed_events")?.map { e -> e.asString }.orEmpty(),
                        allowedProperties = o.getAsJsonArray("allowed_properties")?.map { p -> allowed(p.asJsonObject) }.orEmpty(),
                    )
                })
                "context" -> c.copy(context = x.asJsonObject.let { o ->
                    DeviceContext(
                        os = str(o, "os"), osVersion = str(o, "os_version"), deviceBrand = str(o, "device_brand"),
                        deviceModel = str(o, "device_model"), deviceType = str(o, "device_type"),
                        deviceScreenWidth = o.get("device_screen_width")?.asInt,
                        deviceScreenHeight = o.get("device_screen_height")?.asInt,
                        appVersion = str(o, "app_version"), connectionType = str(o, "connection_type"),
                        collectionPlatform = str(o, "collection_platform"),
                    )
                })
                else -> error("config field '$k' is not mapped by the Kotlin runner")
            }
        }
        return c
    }

    private fun allowed(o: JsonObject) =
        AllowedProperty(property = o["property"].asString, events = str(o, "events") ?: "*", justification = o["justification"].asString)

    private fun code(e: MesureException): String = when (e) {
        is MesureException.ShutDown -> "shut_down"
        is MesureException.UnknownMode -> "unknown_mode"
        else -> e.toString()
    }

    private val matcher = VectorMatcher()

    private fun match(expected: JsonElement, actual: JsonElement?, path: String) = matcher.match(expected, actual, path)

    @Test
    fun vector() {
        val v = JsonParser.parseString(file.readText()).asJsonObject
        val storage = Env.tempDir()
        val cfg = config(v.getAsJsonObject("config"), storage)
        val clock = ManualClock(vectorMs(v["start"].asString))
        val recorder = Recorder()
        val capture = CaptureClient()
        var sdk = MesureCore(cfg, recorder, capture, clock).apply { waitStarted() }
        try {
            v.getAsJsonArray("steps").forEachIndexed { i, stepEl ->
                val step = stepEl.asJsonObject
                val at = "step $i $step"
                val expectedError = str(step, "error")
                when {
                    step.has("track") -> {
                        val t = step.getAsJsonObject("track")
                        val props = t.getAsJsonObject("properties")?.entrySet()?.associate { (k, x) -> k to vectorValue(x) }.orEmpty()
                        val notSent = str(step, "not_sent")
                        when (val out = sdk.track(t["name"].asString, props)) {
                            is TrackOutcome.Queued -> check(expectedError == null && notSent == null) { "$at: queued" }
                            is TrackOutcome.NotSent -> check(expectedError == null && out.reason == notSent) { "$at: not sent (${out.reason})" }
                            is TrackOutcome.Refused -> check(expectedError == out.reason) { "$at: refused (${out.reason}: ${out.message})" }
                            // In the start queue (after a restart that did not wait): what became of it shows later.
                            is TrackOutcome.Waiting -> check(expectedError == null) { "$at: waiting" }
                        }
                    }
                    step.has("set_mode") -> try {
                        sdk.setMode(visitorModeFromName(step["set_mode"].asString))
                        check(expectedError == null) { "$at: no error" }
                    } catch (e: MesureException) {
                        check(expectedError == code(e)) { "$at: threw $e" }
                    }
                    step.has("set_consent") -> sdk.setConsent(step["set_consent"].asBoolean)
                    step.has("set_purposes") -> sdk.setPurposes(
                        step.getAsJsonObject("set_purposes").entrySet().associate { (p, m) -> p to purposeMode(m.asString) },
                    )
                    step.has("set_purpose") -> step.getAsJsonObject("set_purpose").let { o ->
                        sdk.setPurpose(o["purpose"].asString, purposeMode(o["mode"].asString))
                    }
                    step.has("expect_purposes") -> {
                        val got = JsonObject().apply { sdk.purposes().forEach { (p, m) -> addProperty(p, purposeModeName(m)) } }
                        match(step["expect_purposes"], got, at)
                    }
                    step.has("set_opted_out") -> sdk.setOptedOut(step["set_opted_out"].asBoolean)
                    step.has("set_time") -> clock.set(vectorMs(step["set_time"].asString))
                    step.has("advance_seconds") -> clock.advance(step["advance_seconds"].asLong * 1000)
                    step.has("flush") -> sdk.flush()
                    step.has("stop") -> sdk.stop()
                    step.has("restart") -> {
                        sdk.shutdown()
                        sdk.close()
                        sdk = MesureCore(cfg, recorder, capture, clock)
                        if (str(step, "restart") != "no_wait") sdk.waitStarted()
                    }
                    step.has("delete_local_data") -> sdk.deleteLocalData()
                    step.has("expect_mode") -> {
                        val s = sdk.modeStatus()
                        val got = JsonObject().apply {
                            addProperty("mode", visitorModeName(s.mode))
                            addProperty("consent_renewal_needed", s.consentRenewalNeeded)
                        }
                        match(step["expect_mode"], got, at)
                    }
                    step.has("expect_export") -> {
                        val doc = JsonParser.parseString(sdk.exportLocalData()).asJsonObject
                        val got = JsonObject().apply {
                            val vid = doc["visitor_id"]
                            add("visitor", if (vid == null || vid.isJsonNull) JsonNull.INSTANCE else vid.asJsonObject["id"])
                            addProperty("pending_hits", doc.getAsJsonArray("pending_hits").size())
                            add("mode_history", JsonArray().apply { doc.getAsJsonArray("mode_history").forEach { add(it.asJsonObject["mode"]) } })
                        }
                        match(step["expect_export"], got, at)
                    }
                    else -> error("$at: unknown step")
                }
            }
        } finally {
            sdk.shutdown()
            sdk.close()
        }

        val site = v.getAsJsonObject("config")["site_id"].asLong.toString()
        val requests = JsonArray()
        for ((url, body) in capture.requests) {
            check(url.startsWith("https://collect.example.test/event?")) { url }
            val query = url.substringAfter('?').split('&').associate { it.substringBefore('=') to it.substringAfter('=') }
            check(query["s"] == site) { "site id in $url" }
            requests.add(JsonObject().apply {
                addProperty("idclient", query["idclient"])
                add("events", body.asJsonObject["events"])
            })
        }
        match(v["requests"], requests, "requests")

        val dropped = JsonArray()
        recorder.dropped().forEach { d ->
            dropped.add(JsonObject().apply {
                addProperty("mode", d.mode)
                addProperty("event", d.event)
                add("property", d.property?.let { JsonPrimitive(it) } ?: JsonNull.INSTANCE)
                addProperty("reason", d.reason)
            })
        }
        match(v["dropped"], dropped, "dropped")

        val changes = JsonArray()
        synchronized(recorder.changes) { recorder.changes.toList() }.forEach { c ->
            changes.add(JsonObject().apply {
                addProperty("previous", visitorModeName(c.previous))
                addProperty("current", visitorModeName(c.current))
                addProperty("reason", c.reason.name.lowercase())
                addProperty("consent_renewal_needed", c.consentRenewalNeeded)
            })
        }
        match(v["mode_changes"], changes, "mode_changes")
    }
}

/** A vector's time (RFC 3339) in milliseconds since the epoch. */
fun vectorMs(s: String): Long = OffsetDateTime.parse(s).toInstant().toEpochMilli()

/** A vector's property value: a string, or one of `{"int": 1}`, `{"float": 1.5}`, `{"bool": true}`, `{"date": "..."}`, `{"strings": [...]}`... */
fun vectorValue(x: JsonElement): PropertyValue {
    if (x.isJsonPrimitive && x.asJsonPrimitive.isString) return PropertyValue.Text(x.asString)
    val (kind, v) = x.asJsonObject.entrySet().first()
    return when (kind) {
        "int" -> PropertyValue.Integer(v.asLong)
        "float" -> PropertyValue.Decimal(v.asDouble)
        "bool" -> PropertyValue.Flag(v.asBoolean)
        "date" -> PropertyValue.Date(vectorMs(v.asString))
        "strings" -> PropertyValue.TextList(v.asJsonArray.map { it.asString })
        "ints" -> PropertyValue.IntegerList(v.asJsonArray.map { it.asLong })
        "floats" -> PropertyValue.DecimalList(v.asJsonArray.map { it.asDouble })
        "bools" -> PropertyValue.FlagList(v.asJsonArray.map { it.asBoolean })
        "dates" -> PropertyValue.DateList(v.asJsonArray.map { vectorMs(it.asString) })
        else -> error("unknown value type $kind")
    }
}

/**
 * Compares actual JSON with a vector's expectation: exact keys and values,
 * except the placeholders `$uuid` (a v4 UUID not seen before in the run),
 * `$visitorN` (one v4 UUID per N, distinct across N) and `$sdk_version`.
 */
class VectorMatcher {
    private val visitors = mutableMapOf<String, String>()
    private val eventIds = mutableSetOf<String>()

    fun match(expected: JsonElement, actual: JsonElement?, path: String) {
        val a = actual ?: JsonNull.INSTANCE
        if (expected.isJsonPrimitive && expected.asJsonPrimitive.isString && expected.asString.startsWith("$")) {
            val p = expected.asString
            val s = if (a.isJsonPrimitive && a.asJsonPrimitive.isString) a.asString else null
            when {
                p == "\$uuid" -> check(isUuidV4(s) && eventIds.add(s!!)) { "$path: expected a fresh v4 UUID, got $a" }
                p == "\$sdk_version" -> check(s == sdkVersion()) { "$path: sdk version $a" }
                p.startsWith("\$visitor") -> {
                    check(isUuidV4(s)) { "$path: expected a v4 UUID for $p, got $a" }
                    val bound = visitors[p]
                    if (bound == null) {
                        check(s !in visitors.values) { "$path: $p reuses another visitor's id $s" }
                        visitors[p] = s!!
                    } else check(bound == s) { "$path: $p was $bound, now $s" }
                }
                else -> error("$path: unknown placeholder $p")
            }
            return
        }
        when {
            expected.isJsonObject -> {
                check(a.isJsonObject) { "$path: expected an object, got $a" }
                val ek = expected.asJsonObject.keySet().sorted()
                val ak = a.asJsonObject.keySet().sorted()
                check(ek == ak) { "$path: keys differ: expected $ek, got $ak" }
                for (k in ek) match(expected.asJsonObject[k], a.asJsonObject[k], "$path.$k")
            }
            expected.isJsonArray -> {
                check(a.isJsonArray && a.asJsonArray.size() == expected.asJsonArray.size()) { "$path: expected ${expected.asJsonArray.size()} items, got $a" }
                expected.asJsonArray.forEachIndexed { i, e -> match(e, a.asJsonArray[i], "$path[$i]") }
            }
            expected.isJsonPrimitive && expected.asJsonPrimitive.isNumber ->
                check(a.isJsonPrimitive && a.asJsonPrimitive.isNumber && a.asBigDecimal.compareTo(expected.asBigDecimal) == 0) { "$path: expected $expected, got $a" }
            else -> check(expected == a) { "$path: expected $expected, got $a" }
        }
    }
}

class MatcherTest {
    @Test
    fun theMatcherCanFail() {
        val matcher = VectorMatcher()
        val match = matcher::match
        val id = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"
        match(JsonPrimitive("\$visitor1"), JsonPrimitive(id), "x")
        for ((e, a) in listOf(
            JsonPrimitive("\$visitor1") to JsonPrimitive("8b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"),
            JsonPrimitive("\$visitor2") to JsonPrimitive(id),
            JsonPrimitive("\$uuid") to JsonPrimitive("not-a-uuid"),
            JsonParser.parseString("""{"a":1}""") to JsonParser.parseString("""{"a":1,"b":2}"""),
            JsonParser.parseString("[1,2]") to JsonParser.parseString("[1]"),
            JsonPrimitive(1) to JsonPrimitive(2),
        )) {
            try {
                match(e, a, "x")
                fail("$e should not match $a")
            } catch (_: IllegalStateException) {
            }
        }
    }
}
