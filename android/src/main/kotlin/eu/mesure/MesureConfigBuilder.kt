package eu.mesure

import eu.mesure.ffi.AllowedProperty
import eu.mesure.ffi.CustomMode
import eu.mesure.ffi.DeviceContext
import eu.mesure.ffi.MesureConfig
import eu.mesure.ffi.PropertyRule
import eu.mesure.ffi.PurposeConfig
import eu.mesure.ffi.VisitorMode

/**
 * A [MesureConfig] for Java callers, field by field (from Kotlin, the
 * record's named arguments do the same). Every field is documented on
 * [MesureConfig]; what is not set takes the core's default.
 *
 * ```java
 * MesureConfig config = new MesureConfigBuilder("https://collect.example.com", 615000L, dir)
 *     .flushIntervalMs(60_000L)
 *     .build();
 * ```
 */
public class MesureConfigBuilder(collectEndpoint: String, siteId: Long, storageDir: String) {
    private var config = MesureConfig(collectEndpoint = collectEndpoint, siteId = siteId, storageDir = storageDir)

    public fun defaultMode(mode: VisitorMode?): MesureConfigBuilder = apply { config = config.copy(defaultMode = mode) }
    public fun exemptAllowlist(allowed: List<AllowedProperty>): MesureConfigBuilder = apply { config = config.copy(exemptAllowlist = allowed) }
    public fun forbiddenProperties(rules: List<PropertyRule>): MesureConfigBuilder = apply { config = config.copy(forbiddenProperties = rules) }
    public fun forbiddenEvents(patterns: List<String>): MesureConfigBuilder = apply { config = config.copy(forbiddenEvents = patterns) }
    public fun anonymousEvents(patterns: List<String>?): MesureConfigBuilder = apply { config = config.copy(anonymousEvents = patterns) }
    public fun customModes(modes: List<CustomMode>): MesureConfigBuilder = apply { config = config.copy(customModes = modes) }
    public fun purposes(purposes: List<PurposeConfig>): MesureConfigBuilder = apply { config = config.copy(purposes = purposes) }
    public fun sendHitsInOptOut(send: Boolean?): MesureConfigBuilder = apply { config = config.copy(sendHitsInOptOut = send) }
    public fun consentLifetimeMonths(months: Int?): MesureConfigBuilder = apply { config = config.copy(consentLifetimeMonths = months) }
    public fun queueMaxHits(hits: Int?): MesureConfigBuilder = apply { config = config.copy(queueMaxHits = hits) }
    public fun queueMaxAgeDays(days: Int?): MesureConfigBuilder = apply { config = config.copy(queueMaxAgeDays = days) }
    public fun batchSize(hits: Int?): MesureConfigBuilder = apply { config = config.copy(batchSize = hits) }
    public fun flushIntervalMs(ms: Long?): MesureConfigBuilder = apply { config = config.copy(flushIntervalMs = ms) }
    public fun requestTimeoutMs(ms: Long?): MesureConfigBuilder = apply { config = config.copy(requestTimeoutMs = ms) }
    public fun retryBaseMs(ms: Long?): MesureConfigBuilder = apply { config = config.copy(retryBaseMs = ms) }
    public fun retryMaxMs(ms: Long?): MesureConfigBuilder = apply { config = config.copy(retryMaxMs = ms) }
    public fun context(context: DeviceContext?): MesureConfigBuilder = apply { config = config.copy(context = context) }
    public fun dryRun(dryRun: Boolean): MesureConfigBuilder = apply { config = config.copy(dryRun = dryRun) }
    public fun legacyStorageDir(dir: String?): MesureConfigBuilder = apply { config = config.copy(legacyStorageDir = dir) }
    /** The collector's wire: Piano when not set; `Collector.Matomo(...)` or `Collector.PiwikPro(...)`. */
    public fun collector(collector: Collector?): MesureConfigBuilder = apply { config = config.copy(collector = collector) }
    /** The consent endpoint and the consent statistics' settings: `ConsentSettings(endpoint = "https://consent.example.com/v1")`; the defaults when not set. */
    public fun consent(settings: ConsentSettings?): MesureConfigBuilder = apply { config = config.copy(consent = settings) }

    public fun build(): MesureConfig = config
}
