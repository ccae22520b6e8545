package eu.mesure

/**
 * The SDK's log lines. Warnings always go out; the debug lines only with
 * [MesureOptions.Builder.debugLog], and in a release build of the app only
 * with [MesureOptions.Builder.debugLogInReleaseBuild] as well. The core
 * writes every debug line (the same on Android, the JVM and iOS: one line,
 * the site first, codes and names, never a property value, an app-scoped
 * visitor id shortened to four characters); this class only chooses the
 * sink. A sink that throws is ignored.
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

    companion object {
        /** The log [options] ask for: in a release build, the debug lines only if forced by name. */
        fun of(options: MesureOptions): DebugLog {
            val sink = options.logSink ?: JavaLoggingSink
            val refused = options.debugLog && options.releaseBuild && !options.debugLogInReleaseBuild
            val log = DebugLog(sink, options.debugLog && !refused)
            if (refused) {
                log.warn("the debug log is off in a release build: it would show what the app tracks (debugLogInReleaseBuild(true) forces it)")
            }
            return log
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
