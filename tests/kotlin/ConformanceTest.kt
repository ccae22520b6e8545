package eu.mesure.tests

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import eu.mesure.ffi.AllowedProperty
import eu.mesure.ffi.Collector as WireCollector
import eu.mesure.ffi.ConsentContext
import eu.mesure.ffi.ConsentSettings
import eu.mesure.ffi.CustomMode
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.HttpRequest
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
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized

/**
 * Runs every vector file of tests/vectors through the generated Kotlin
 * bindings, once per collector wire (piano, matomo, piwik_pro): the same
 * files, the same expectations as the Rust and Swift runners.
 */
@RunWith(Parameterized::class)
class ConformanceTest(private val name: String, private val file: File, private val dialect: String) {
    companion object {
        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun vectors(): List<Array<Any>> {
            val files = Env.vectorsDir.listFiles { f -> f.name.endsWith(".json") }?.sortedBy { it.name }.orEmpty()
            check(files.size >= 26) { "vectors missing in ${Env.vectorsDir}" }
            return files.flatMap { f -> DIALECTS.map { d -> arrayOf<Any>("${f.nameWithoutExtension} ($d)", f, d) } }
        }
    }

    @Test
    fun vector() {
        val v = JsonParser.parseString(file.readText()).asJsonObject
        try {
            VectorRun(v, dialect).run()
        } catch (e: Throwable) {
            throw AssertionError("${file.name} ($dialect): ${e.message}", e)
        }
    }
}

/** The dialects every vector runs under (tests/vectors/README.md, "Every vector under every dialect"). */
val DIALECTS = listOf("piano", "matomo", "piwik_pro")

private const val ENDPOINT = "https://collect.example.test"
private const val PIWIK_PRO_APP = "0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b"

/**
 * The consent endpoint a vector's `"consent": {"endpoint": "$consent_endpoint"}`
 * stands for: the same URL in every runner (the policy hash covers it).
 */
const val CONSENT_ENDPOINT = "https://collect.example.test/consent"

/** One request to the consent endpoint: its `Mesure-Policy` header, its body as sent and as JSON. */
class ConsentRequest(val policy: String?, val text: String, val body: JsonElement) {
    /** A request the runner's client captured, as sent to the consent endpoint. */
    constructor(request: HttpRequest, text: String = String(request.body, Charsets.UTF_8)) : this(
        request.headers.firstOrNull { it.name.equals("Mesure-Policy", ignoreCase = true) }?.value,
        text,
        runCatching { JsonParser.parseString(text) }.getOrDefault(JsonNull.INSTANCE),
    )
}

/** A vector's prompt, `{"prompt_id": "...", "prompt_version": "...", "locale": "..."}` (locale optional). */
fun vectorPrompt(p: JsonElement, at: String): ConsentContext {
    val o = p.asJsonObject
    fun field(k: String): String? = o.get(k)?.takeUnless { it.isJsonNull }?.asString
    return ConsentContext(
        promptId = field("prompt_id") ?: error("$at: prompt_id"),
        promptVersion = field("prompt_version") ?: error("$at: prompt_version"),
        locale = field("locale"),
    )
}

/**
 * What reached the consent endpoint, in order, against the vector's
 * `consent_requests` ([expected]; none when null): each request's
 * `Mesure-Policy` header (`$policy`) and body. Whatever the vector says, no
 * request holds a bound visitor's id (either form), and a statistics
 * request does not hold the consent-proof id (as the Rust runner's
 * `check_consent_requests`).
 */
fun checkConsentRequests(expected: JsonElement?, consent: List<ConsentRequest>, matcher: VectorMatcher) {
    val got = JsonArray().apply {
        consent.forEach { r ->
            add(JsonObject().apply {
                add("policy", r.policy?.let { JsonPrimitive(it) } ?: JsonNull.INSTANCE)
                add("body", r.body)
            })
        }
    }
    matcher.match(expected?.takeUnless { it.isJsonNull } ?: JsonArray(), got, "consent_requests")
    val visitors = matcher.visitorIds()
    consent.forEachIndexed { i, r ->
        visitors.firstOrNull { r.text.contains(it) || r.text.replace("-", "").contains(hex16(it)) }?.let {
            error("consent_requests[$i]: holds the visitor id $it")
        }
        val statistics = r.body.isJsonObject && r.body.asJsonObject["type"] == JsonPrimitive("consent_statistics")
        matcher.consentId?.takeIf { statistics && r.text.contains(it) }?.let {
            error("consent_requests[$i]: the consent statistics hold the consent-proof id $it")
        }
    }
}

/** The collector each dialect sets, whatever the vector's config says (as the Rust runner's `collector`). */
fun vectorCollector(dialect: String): WireCollector {
    val dimensions = mapOf("app_version" to 1, "connection_type" to 2, "visitor_privacy_mode" to 3, "visitor_privacy_consent" to 4)
    return when (dialect) {
        "piano" -> WireCollector.Piano
        "matomo" -> WireCollector.Matomo(appHost = "app.example", dimensions = dimensions)
        "piwik_pro" -> WireCollector.PiwikPro(appId = PIWIK_PRO_APP, appHost = "app.example", dimensions = dimensions)
        else -> error("unknown dialect $dialect")
    }
}

/** Percent-decoding as PHP's `parse_str` does: `+` is a space, `%XX` a byte, the bytes UTF-8. */
fun formDecode(s: String): String {
    val bytes = s.toByteArray(Charsets.UTF_8)
    val out = java.io.ByteArrayOutputStream(bytes.size)
    fun hex(b: Byte): Int = Character.digit(b.toInt().toChar(), 16)
    var i = 0
    while (i < bytes.size) {
        val b = bytes[i]
        when {
            b == '+'.code.toByte() -> out.write(' '.code)
            b == '%'.code.toByte() && i + 2 < bytes.size && hex(bytes[i + 1]) >= 0 && hex(bytes[i + 2]) >= 0 -> {
                out.write(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]))
                i += 2
            }
            else -> out.write(b.toInt())
        }
        i++
    }
    return String(out.toByteArray(), Charsets.UTF_8)
}

/**
 * A Matomo / Piwik PRO bulk request as the vectors state it: the URL's path
 * and each entry's parameters, decoded (`{"path": ..., "entries": [{...}]}`).
 */
fun matomoRequest(url: String, body: JsonElement): JsonObject {
    val entries = JsonArray()
    val list = body.takeIf { it.isJsonObject }?.asJsonObject?.get("requests")?.takeIf { it.isJsonArray }?.asJsonArray
    list?.forEach { e ->
        val query = (if (e.isJsonPrimitive && e.asJsonPrimitive.isString) e.asString else "").trimStart('?')
        entries.add(JsonObject().apply {
            for (kv in query.split('&')) {
                val eq = kv.indexOf('=')
                if (eq >= 0) addProperty(formDecode(kv.substring(0, eq)), formDecode(kv.substring(eq + 1)))
            }
        })
    }
    return JsonObject().apply {
        addProperty("path", url.removePrefix(ENDPOINT))
        add("entries", entries)
    }
}

/** One run of a vector under one dialect; throws, naming the step or the field, at the first difference. */
class VectorRun(private val v: JsonObject, private val dialect: String) {
    private fun purposeMode(name: String) = purposeModeFromName(name) ?: error("purpose mode $name")

    private fun str(o: JsonObject, k: String): String? = o.get(k)?.takeUnless { it.isJsonNull }?.asString

    private fun config(json: JsonObject, storage: String): MesureConfig {
        var c = MesureConfig(
            collectEndpoint = ENDPOINT, siteId = 0, storageDir = storage, flushIntervalMs = 3_600_000L, collector = vectorCollector(dialect),
        )
        for ((k, x) in json.entrySet()) {
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
                "consent" -> c.copy(consent = consentSettings(x.asJsonObject))
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

    /**
     * The vector's `policy_hash.<dialect>` must be the hash of the SDK started
     * from the config as this runner translated it: exactly, as every runner
     * compares it (a field translated differently is another policy).
     */
    private fun checkPolicyHash(got: String) {
        val expected = v.getAsJsonObject("policy_hash")?.get(dialect)?.asString
            ?: error("policy_hash.$dialect: missing (the SDK's is $got)")
        check(got == expected) {
            "policy_hash.$dialect: the SDK started from this vector's config, as the Kotlin runner translates it, " +
                "has the policy hash $got, the vector expects $expected"
        }
    }

    /** `"endpoint": "$consent_endpoint"` stands for [CONSENT_ENDPOINT]; the other fields as the vector gives them. */
    private fun consentSettings(o: JsonObject): ConsentSettings {
        var s = ConsentSettings()
        for ((k, x) in o.entrySet()) {
            s = when (k) {
                "endpoint" -> s.copy(endpoint = str(o, k)?.let { if (it == "\$consent_endpoint") CONSENT_ENDPOINT else it })
                "statistics" -> s.copy(statistics = x.asBoolean)
                "refuse_all_stops_statistics" -> s.copy(refuseAllStopsStatistics = x.asBoolean)
                else -> error("config field 'consent.$k' is not mapped by the Kotlin runner")
            }
        }
        return s
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

    fun run() {
        val storage = Env.tempDir()
        val cfg = config(v.getAsJsonObject("config"), storage)
        val clock = ManualClock(vectorMs(v["start"].asString))
        val recorder = Recorder()
        val capture = CaptureClient()
        var sdk = MesureCore(cfg, recorder, capture, clock).apply { waitStarted() }
        try {
            checkPolicyHash(sdk.policyHash())
            // `$policy`: the SDK's own hash in this run (the same after a restart).
            matcher.policy = sdk.policyHash()
            v.getAsJsonArray("steps").forEachIndexed { i, stepEl ->
                val step = stepEl.asJsonObject
                val at = "step $i $step"
                val expectedError = str(step, "error")
                // The consent prompt the answer was given in (beside set_mode, set_consent, set_purposes).
                val prompt = step.get("prompt")?.let { vectorPrompt(it, at) }
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
                        sdk.setMode(visitorModeFromName(step["set_mode"].asString), prompt)
                        check(expectedError == null) { "$at: no error" }
                    } catch (e: MesureException) {
                        check(expectedError == code(e)) { "$at: threw $e" }
                    }
                    step.has("set_consent") -> sdk.setConsent(step["set_consent"].asBoolean, prompt)
                    step.has("consent_prompt_shown") -> sdk.consentPromptShown(vectorPrompt(step["consent_prompt_shown"], at))
                    step.has("set_consent_statistics") -> sdk.setConsentStatistics(step["set_consent_statistics"].asBoolean)
                    step.has("set_purposes") -> sdk.setPurposes(
                        step.getAsJsonObject("set_purposes").entrySet().associate { (p, m) -> p to purposeMode(m.asString) },
                        prompt,
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

        val dropped = JsonArray()
        recorder.dropped().forEach { d ->
            dropped.add(JsonObject().apply {
                addProperty("mode", d.mode)
                addProperty("event", d.event)
                add("property", d.property?.let { JsonPrimitive(it) } ?: JsonNull.INSTANCE)
                addProperty("reason", d.reason)
            })
        }
        // Requests to the consent endpoint are checked apart from the collection's.
        val captured = synchronized(capture.requests) { capture.requests.filter { (url, _) -> url != CONSENT_ENDPOINT } }
        if (dialect == "piano") {
            val site = v.getAsJsonObject("config")["site_id"].asLong.toString()
            val requests = JsonArray()
            for ((url, body) in captured) {
                check(url.startsWith("$ENDPOINT/event?")) { url }
                val query = url.substringAfter('?').split('&').associate { it.substringBefore('=') to it.substringAfter('=') }
                check(query["s"] == site) { "site id in $url" }
                requests.add(JsonObject().apply {
                    addProperty("idclient", query["idclient"])
                    add("events", body.asJsonObject["events"])
                })
            }
            match(v["requests"], requests, "requests")
            match(v["dropped"], dropped, "dropped")
        } else {
            val requests = JsonArray().apply { captured.forEach { (url, body) -> add(matomoRequest(url, body)) } }
            val got = JsonObject().apply {
                add("requests", requests)
                add("dropped", dropped)
            }
            val expected = v.getAsJsonObject("wire")?.get(dialect) ?: error("no expected wire for $dialect")
            match(expected, got, "wire.$dialect")
        }

        val consent = synchronized(capture.sent) { capture.sent.filter { it.url == CONSENT_ENDPOINT }.map { ConsentRequest(it) } }
        checkConsentRequests(v["consent_requests"], consent, matcher)

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
 * except the placeholders (as the Rust runner's matcher):
 * - `$uuid`: a v4 UUID not seen before in the run;
 * - `$visitorN`: a v4 UUID or Matomo's 16 lower-case hex digits, the same
 *   for one N and distinct across N; a 16-hex id and a UUID are the same
 *   visitor when the 16 digits begin the UUID's hex digits;
 * - `$pvN`: 6 lower-case hex digits, bound as `$visitorN` is;
 * - `$sdk_version`: the library's version, also inside a longer string;
 * - in consent requests: `$consent_id` (one v4 UUID throughout the run,
 *   never a visitor's id), `$hashN` (`sha256=<64 hex>`, bound as
 *   `$visitorN` is) and `$policy` (the SDK's policy hash, [policy]).
 */
class VectorMatcher {
    private val visitors = mutableMapOf<String, String>()
    private val eventIds = mutableSetOf<String>()
    /** `$hashN`: one `sha256=<64 hex>` per N. */
    private val hashes = mutableMapOf<String, String>()

    /** `$consent_id`: the consent-proof id, once seen. */
    var consentId: String? = null
        private set

    /** `$policy`: the SDK's policy hash in this run. */
    var policy: String? = null

    /** The ids bound to `$visitorN` so far (not the `$pvN`). */
    fun visitorIds(): List<String> = visitors.filterKeys { it.startsWith("\$visitor") }.values.toList()

    fun match(expected: JsonElement, actual: JsonElement?, path: String) {
        val a = actual ?: JsonNull.INSTANCE
        if (expected.isJsonPrimitive && expected.asJsonPrimitive.isString) {
            val p = expected.asString
            val s = if (a.isJsonPrimitive && a.asJsonPrimitive.isString) a.asString else null
            when {
                p == "\$uuid" -> check(isUuidV4(s) && eventIds.add(s!!)) { "$path: expected a fresh v4 UUID, got $a" }
                p == "\$consent_id" -> bindConsentId(s, a, path)
                p == "\$policy" -> check(s != null && s == policy) { "$path: expected the SDK's policy hash $policy, got $a" }
                p.startsWith("\$hash") -> bindHash(p, s, a, path)
                p.startsWith("\$visitor") || p.startsWith("\$pv") -> bind(p, s, a, path)
                p.contains("\$sdk_version") ->
                    check(s == p.replace("\$sdk_version", sdkVersion())) { "$path: expected $p with the sdk version, got $a" }
                p.startsWith("$") -> error("$path: unknown placeholder $p")
                else -> check(expected == a) { "$path: expected $expected, got $a" }
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

    /** `$visitorN` (a v4 UUID, or Matomo's 16-hex `_id`) or `$pvN` (6 hex): one id per placeholder, distinct across placeholders. */
    private fun bind(p: String, s: String?, a: JsonElement, path: String) {
        val ok = if (p.startsWith("\$pv")) isHex(s, 6) else isUuidV4(s) || isHex(s, 16)
        check(ok) { "$path: expected a fresh id for $p, got $a" }
        // Matomo's `_id` is the first 16 hex digits of the app-scoped id:
        // the same visitor whichever form each place shows.
        val bound = visitors[p]
        when {
            bound != null -> check(sameId(bound, s!!)) { "$path: $p was $bound, now $s" }
            visitors.values.any { sameId(it, s!!) } -> error("$path: $p reuses another visitor's id $s")
            consentId?.let { sameId(it, s!!) } == true -> error("$path: $p is the consent-proof id $s")
            else -> visitors[p] = s!!
        }
    }

    /** `$consent_id`: a v4 UUID, one for the whole run, never a bound visitor's id (either form). */
    private fun bindConsentId(s: String?, a: JsonElement, path: String) {
        check(isUuidV4(s)) { "$path: expected the consent-proof id, a v4 UUID, got $a" }
        visitors.entries.firstOrNull { (k, v) -> k.startsWith("\$visitor") && sameId(v, s!!) }?.let { (k, _) ->
            error("$path: the consent-proof id $s is $k's id")
        }
        val bound = consentId
        when {
            bound == null -> consentId = s
            else -> check(bound == s) { "$path: \$consent_id was $bound, now $s" }
        }
    }

    /** `$hashN`: `sha256=<64 hex>`, the same for one N, distinct across N. */
    private fun bindHash(p: String, s: String?, a: JsonElement, path: String) {
        check(s != null && s.startsWith("sha256=") && isHex(s.removePrefix("sha256="), 64)) { "$path: expected sha256=<64 hex> for $p, got $a" }
        val bound = hashes[p]
        when {
            bound != null -> check(bound == s) { "$path: $p was $bound, now $s" }
            hashes.values.any { it == s } -> error("$path: $p is another placeholder's hash $s")
            else -> hashes[p] = s
        }
    }
}

/** The same id, whichever form each place shows: Matomo's `_id` is the first 16 hex digits of the app-scoped UUID. */
fun sameId(x: String, y: String): Boolean = x == y || (x.length != y.length && hex16(x) == hex16(y))

/** The first 16 hex digits of an id (Matomo's `_id` of an app-scoped id). */
fun hex16(s: String): String = s.filter { it in '0'..'9' || it in 'a'..'f' || it in 'A'..'F' }.take(16)

/** `len` lower-case hex digits. */
fun isHex(s: String?, len: Int): Boolean = s != null && s.length == len && s.all { it in '0'..'9' || it in 'a'..'f' }

class MatcherTest {
    private fun fails(what: String, block: () -> Unit) {
        try {
            block()
        } catch (_: IllegalStateException) {
            return
        }
        fail(what)
    }

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
            fails("$e should not match $a") { match(e, a, "x") }
        }
        match(JsonPrimitive("\$uuid"), JsonPrimitive(id), "x")
        fails("event ids are unique") { match(JsonPrimitive("\$uuid"), JsonPrimitive(id), "x") }
        // Matomo's 16-hex `_id` is the same visitor as the UUID it comes from, and no other.
        match(JsonPrimitive("\$visitor1"), JsonPrimitive("7b7c5a522f0d4f7a"), "x")
        fails("another visitor's 16 hex") { match(JsonPrimitive("\$visitor1"), JsonPrimitive("8b7c5a522f0d4f7a"), "x") }
        fails("a new placeholder for a known visitor's 16 hex") { match(JsonPrimitive("\$visitor3"), JsonPrimitive("7b7c5a522f0d4f7a"), "x") }
        fails("15 hex digits are no visitor") { match(JsonPrimitive("\$visitor4"), JsonPrimitive("7b7c5a522f0d4f7"), "x") }
        match(JsonPrimitive("\$pv1"), JsonPrimitive("abc123"), "x")
        match(JsonPrimitive("\$pv1"), JsonPrimitive("abc123"), "x")
        fails("a page view id is bound") { match(JsonPrimitive("\$pv1"), JsonPrimitive("abc124"), "x") }
        fails("distinct page views, distinct ids") { match(JsonPrimitive("\$pv2"), JsonPrimitive("abc123"), "x") }
        fails("a page view id is 6 hex digits") { match(JsonPrimitive("\$pv3"), JsonPrimitive("ABC123"), "x") }
        match(JsonPrimitive("Mesure/\$sdk_version"), JsonPrimitive("Mesure/${sdkVersion()}"), "x")
        match(JsonPrimitive("\$sdk_version"), JsonPrimitive(sdkVersion()), "x")
        fails("another version") { match(JsonPrimitive("Mesure/\$sdk_version"), JsonPrimitive("Mesure/0.0.0-x"), "x") }
    }

    @Test
    fun theConsentPlaceholdersCanFail() {
        val matcher = VectorMatcher().apply { policy = "sha256=" + "ab".repeat(32) }
        val match = matcher::match
        val h1 = "sha256=" + "0123456789abcdef".repeat(4)
        val h2 = "sha256=" + "fedcba9876543210".repeat(4)
        // $policy: exactly the SDK's hash.
        match(JsonPrimitive("\$policy"), JsonPrimitive("sha256=" + "ab".repeat(32)), "x")
        fails("another policy") { match(JsonPrimitive("\$policy"), JsonPrimitive("sha256=" + "ac".repeat(32)), "x") }
        fails("no policy header") { match(JsonPrimitive("\$policy"), JsonNull.INSTANCE, "x") }
        fails("no policy known") { VectorMatcher().match(JsonPrimitive("\$policy"), JsonPrimitive(h1), "x") }
        // $hashN: sha256=<64 lower hex>, one per N, distinct across N.
        match(JsonPrimitive("\$hash1"), JsonPrimitive(h1), "x")
        match(JsonPrimitive("\$hash1"), JsonPrimitive(h1), "x")
        fails("a hash is bound") { match(JsonPrimitive("\$hash1"), JsonPrimitive(h2), "x") }
        fails("distinct hashes, distinct values") { match(JsonPrimitive("\$hash2"), JsonPrimitive(h1), "x") }
        fails("64 lower-case hex digits") { match(JsonPrimitive("\$hash3"), JsonPrimitive("sha256=" + h2.removePrefix("sha256=").uppercase()), "x") }
        fails("63 hex digits") { match(JsonPrimitive("\$hash3"), JsonPrimitive(h2.dropLast(1)), "x") }
        fails("the prefix") { match(JsonPrimitive("\$hash3"), JsonPrimitive(h2.removePrefix("sha256=")), "x") }
        match(JsonPrimitive("\$hash2"), JsonPrimitive(h2), "x")
        // $consent_id: one v4 UUID for the run, never a visitor's id.
        val visitor = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"
        val consent = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
        match(JsonPrimitive("\$visitor1"), JsonPrimitive(visitor), "x")
        fails("a visitor's id is no consent id") { match(JsonPrimitive("\$consent_id"), JsonPrimitive(visitor), "x") }
        fails("a consent id is a v4 UUID") { match(JsonPrimitive("\$consent_id"), JsonPrimitive("1f2e3d4c-5b6a-1978-8a9b-0c1d2e3f4a5b"), "x") }
        match(JsonPrimitive("\$consent_id"), JsonPrimitive(consent), "x")
        match(JsonPrimitive("\$consent_id"), JsonPrimitive(consent), "x")
        assertEquals(consent, matcher.consentId)
        fails("one consent id per run") { match(JsonPrimitive("\$consent_id"), JsonPrimitive("2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"), "x") }
        fails("a visitor is not the consent id") { match(JsonPrimitive("\$visitor2"), JsonPrimitive(consent), "x") }
        fails("nor its 16 hex digits") { match(JsonPrimitive("\$visitor2"), JsonPrimitive("1f2e3d4c5b6a4978"), "x") }
        // A Matomo visitor (16 hex) bound first: the UUID it begins is no consent id.
        val matomo = VectorMatcher()
        matomo.match(JsonPrimitive("\$visitor1"), JsonPrimitive("7b7c5a522f0d4f7a"), "x")
        fails("the 16 hex digits' UUID") { matomo.match(JsonPrimitive("\$consent_id"), JsonPrimitive(visitor), "x") }
    }

    /** The checks beyond the exact match: no visitor id in a consent request, no consent id in the statistics. */
    @Test
    fun theConsentRequestChecksCanFail() {
        val policy = "sha256=" + "ab".repeat(32)
        val visitor = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"
        val consent = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
        fun request(text: String, header: String? = policy) = ConsentRequest(header, text, JsonParser.parseString(text))
        fun matcher() = VectorMatcher().apply {
            this.policy = policy
            match(JsonPrimitive("\$visitor1"), JsonPrimitive(visitor), "x")
        }
        val receiptText = """{"type":"consent_receipts","receipts":[{"consent_id":"$consent"}]}"""
        val receipt = request(receiptText)
        val expectedReceipt = """{"policy":"${'$'}policy","body":{"type":"consent_receipts","receipts":[{"consent_id":"${'$'}consent_id"}]}}"""
        checkConsentRequests(JsonParser.parseString("[$expectedReceipt]"), listOf(receipt), matcher())
        checkConsentRequests(null, listOf(), matcher())
        fails("no consent request expected") { checkConsentRequests(null, listOf(receipt), matcher()) }
        fails("a consent request missing") { checkConsentRequests(JsonParser.parseString("[$expectedReceipt]"), listOf(), matcher()) }
        fails("no policy header") { checkConsentRequests(JsonParser.parseString("[$expectedReceipt]"), listOf(request(receiptText, null)), matcher()) }
        // The text is what is checked: an id in a field the body's JSON does not show fails too, in either form.
        for (id in listOf(visitor, "7b7c5a522f0d4f7a")) {
            val leaky = ConsentRequest(policy, receiptText.dropLast(1) + ""","x":"$id"}""", receipt.body)
            fails("a receipt holding the visitor id $id") { checkConsentRequests(JsonParser.parseString("[$expectedReceipt]"), listOf(leaky), matcher()) }
        }
        val statsText = """{"type":"consent_statistics","counts":[]}"""
        val expectedBoth = JsonParser.parseString("""[$expectedReceipt, {"policy":"${'$'}policy","body":$statsText}]""")
        checkConsentRequests(expectedBoth, listOf(receipt, request(statsText)), matcher())
        val leaky = ConsentRequest(policy, statsText.dropLast(1) + ""","x":"$consent"}""", JsonParser.parseString(statsText))
        fails("statistics holding the consent id") { checkConsentRequests(expectedBoth, listOf(receipt, leaky), matcher()) }
    }

    @Test
    fun formDecodingIsPhps() {
        assertEquals("a b+c", formDecode("a+b%2Bc"))
        assertEquals("é/ü", formDecode("%C3%A9%2F%c3%bc"))
        assertEquals("100%", formDecode("100%"))
        assertEquals("%zz", formDecode("%zz"))
        val r = matomoRequest(
            "https://collect.example.test/matomo.php",
            JsonParser.parseString("""{"requests":["?idsite=42&action_name=a+b%26c&novalue&url=https%3A%2F%2Fapp.example%2Fx"]}"""),
        )
        assertEquals(
            JsonParser.parseString("""{"path":"/matomo.php","entries":[{"idsite":"42","action_name":"a b&c","url":"https://app.example/x"}]}"""),
            r,
        )
    }

    /** A config field translated differently is another policy: the vector fails on its policy hash, before any step. */
    @Test
    fun aConfigTranslatedDifferentlyFails() {
        val file = File(Env.vectorsDir, "policy_hash_every_rule.json")
        for (dialect in DIALECTS) {
            VectorRun(JsonParser.parseString(file.readText()).asJsonObject, dialect).run()
            val v = JsonParser.parseString(file.readText()).asJsonObject
            v.getAsJsonObject("config").getAsJsonArray("exempt_allowlist")[0].asJsonObject
                .addProperty("justification", "another reason, for the audience per theme")
            try {
                VectorRun(v, dialect).run()
            } catch (e: IllegalStateException) {
                assertTrue(e.message, e.message!!.startsWith("policy_hash.$dialect: "))
                continue
            }
            fail("another justification passed under $dialect")
        }
    }

    /** A vector whose expected wire is wrong fails under that dialect only, naming the field. */
    @Test
    fun aTamperedWireFails() {
        val file = File(Env.vectorsDir, "opt_in_sends_everything.json")
        for (dialect in DIALECTS) VectorRun(JsonParser.parseString(file.readText()).asJsonObject, dialect).run()
        val v = JsonParser.parseString(file.readText()).asJsonObject
        val entry = v.getAsJsonObject("wire").getAsJsonObject("matomo").getAsJsonArray("requests")[0]
            .asJsonObject.getAsJsonArray("entries")[0].asJsonObject
        entry.addProperty("action_name", "tampered")
        VectorRun(v, "piano").run()
        VectorRun(v, "piwik_pro").run()
        try {
            VectorRun(v, "matomo").run()
        } catch (e: IllegalStateException) {
            assertTrue(e.message, e.message!!.contains("wire.matomo.requests[0].entries[0].action_name"))
            return
        }
        fail("a tampered matomo wire passed")
    }
}
