package eu.mesure

import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.ModeChange

/**
 * The SDK's log lines. Warnings always go out; the debug lines only with
 * [MesureOptions.Builder.debugLog]. Keys, ids and codes only: no property
 * value is ever logged. A sink that throws is ignored.
 */
internal class DebugLog(private val sink: LogSink, private val enabled: Boolean) {
    val debugEnabled: Boolean get() = enabled

    fun debug(message: () -> String) {
        if (enabled) emit(LogLevel.DEBUG, message())
    }

    fun warn(message: String) = emit(LogLevel.WARNING, message)

    private fun emit(level: LogLevel, message: String) {
        try {
            sink.log(level, message)
        } catch (_: Throwable) {
        }
    }

    fun modeChanged(change: ModeChange) = debug {
        val reason = change.reason.name.lowercase()
        val renewal = if (change.consentRenewalNeeded) ", consent renewal needed" else ""
        "visitor mode ${change.previous} -> ${change.current} ($reason, epoch ${change.epoch}$renewal)"
    }

    fun diagnostic(d: Diagnostic) {
        if (!enabled) return
        for (line in lines(d)) emit(LogLevel.DEBUG, line)
    }

    companion object {
        /** The debug-log lines of one diagnostic (a `Sent` gives one per hit). */
        fun lines(d: Diagnostic): List<String> = when (d) {
            is Diagnostic.Sent -> d.hits.map { hit ->
                val where = when {
                    d.dryRun -> "dry run, not sent"
                    d.status != null -> "HTTP ${d.status}"
                    else -> "no answer"
                }
                "sent ${hit.event} ($where; idclient ${d.idclient}; event_id ${hit.eventId}): ${hit.keys.joinToString(", ")}"
            }
            is Diagnostic.Dropped -> {
                val verb = if (d.reason == "truncated") "cut" else "held back"
                val what = d.property?.let { "property \"$it\" $verb" } ?: "event $verb"
                listOf("${d.event}: $what in mode ${d.mode}: ${d.explanation} (${d.reason})")
            }
            is Diagnostic.TrackRefused -> listOf("refused event \"${d.event}\": ${d.message} (${d.reason})")
            is Diagnostic.Backpressure -> listOf("${d.dropped} track call(s) dropped: the hand-off was full (backpressure)")
            is Diagnostic.Other -> listOf(d.description)
            else -> listOf(d.toString())
        }
    }
}

/** The desktop JVM's log: java.util.logging, logger `eu.mesure.Mesure` (on Android its tag is `Mesure`). */
internal object JavaLoggingSink : LogSink {
    private val logger = java.util.logging.Logger.getLogger("eu.mesure.Mesure")

    override fun log(level: LogLevel, message: String) {
        logger.log(if (level == LogLevel.WARNING) java.util.logging.Level.WARNING else java.util.logging.Level.INFO, message)
    }
}
