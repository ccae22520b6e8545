package eu.mesure

import eu.mesure.ffi.Diagnostic
import eu.mesure.ffi.MesureClock
import eu.mesure.ffi.MesureException
import eu.mesure.ffi.PlatformHttpClient

/** Receives the SDK's diagnostics (see [MesureOptions.Builder.onDiagnostic]). */
public fun interface DiagnosticListener {
    public fun onDiagnostic(diagnostic: Diagnostic)
}

/** Receives what a call that does not throw could not do (see [MesureOptions.Builder.onError]). */
public fun interface ErrorListener {
    public fun onError(error: MesureException)
}

/** Where the SDK's log lines go (see [MesureOptions.Builder.logSink]). */
public fun interface LogSink {
    public fun log(level: LogLevel, message: String)
}

/** How much a log line matters. */
public enum class LogLevel {
    /** A debug-log line ([MesureOptions.Builder.debugLog]): what was sent, held back, refused, changed. */
    DEBUG,

    /** Something the app should fix or know: a start that failed, a call ignored, a setter that failed. */
    WARNING,
}

/**
 * How the wrapper runs, beside the SDK's configuration
 * ([eu.mesure.ffi.MesureConfig]). Built with [builder]:
 *
 * ```kotlin
 * val options = MesureOptions.builder()
 *     .httpClient(HttpUrlConnectionClient())
 *     .onDiagnostic { Log.d("App", it.toString()) }
 *     .debugLog(BuildConfig.DEBUG)
 *     .build()
 * ```
 */
public class MesureOptions private constructor(builder: Builder) {
    /** The platform HTTP client; none: the built-in Rust client (desktop builds only) or, in a dry run, none needed. */
    public val httpClient: PlatformHttpClient? = builder.httpClient

    /** Diagnostics, on the SDK's listener thread (`mesure-listener`). */
    public val onDiagnostic: DiagnosticListener? = builder.onDiagnostic

    /** Errors of calls that do not throw: a setter's on the caller's thread, a failed start's on `mesure-listener`. */
    public val onError: ErrorListener? = builder.onError

    /** Strict mode: calls wait for their turn and throw. */
    public val strict: Boolean = builder.strict

    /** The debug log: every hit sent, every property held back, every refusal and mode change. */
    public val debugLog: Boolean = builder.debugLog
    public val debugLogInReleaseBuild: Boolean = builder.debugLogInReleaseBuild
    public val releaseBuild: Boolean = builder.releaseBuild

    /** Where log lines go; none: the platform's log (java.util.logging on the JVM, Logcat through [eu.mesure.android.MesureAndroid]). */
    public val logSink: LogSink? = builder.logSink

    /** The time source, for tests. */
    public val clock: MesureClock? = builder.clock

    /** A builder holding these options, to change some of them. */
    public fun toBuilder(): Builder = Builder(this)

    /** Options, set one by one; every setter returns the builder. */
    public class Builder public constructor() {
        internal var httpClient: PlatformHttpClient? = null
        internal var onDiagnostic: DiagnosticListener? = null
        internal var onError: ErrorListener? = null
        internal var strict: Boolean = false
        internal var debugLog: Boolean = false
        internal var debugLogInReleaseBuild: Boolean = false
        internal var releaseBuild: Boolean = false
        internal var logSink: LogSink? = null
        internal var clock: MesureClock? = null

        internal constructor(from: MesureOptions) : this() {
            httpClient = from.httpClient
            onDiagnostic = from.onDiagnostic
            onError = from.onError
            strict = from.strict
            debugLog = from.debugLog
            debugLogInReleaseBuild = from.debugLogInReleaseBuild
            releaseBuild = from.releaseBuild
            logSink = from.logSink
            clock = from.clock
        }

        /**
         * The platform's HTTP client (required on Android, whose build
         * carries no Rust client: [HttpUrlConnectionClient] or your own over
         * OkHttp). It must answer every request through its completion.
         */
        public fun httpClient(client: PlatformHttpClient?): Builder = apply { httpClient = client }

        /**
         * Receives each diagnostic: a property or event held back
         * (`Dropped`), a refused event (`TrackRefused`), each upload request
         * (`Sent`, with the keys that left), queue and storage problems. On
         * the SDK's listener thread `mesure-listener`, one at a time, in
         * order. Hop to your UI thread yourself.
         */
        public fun onDiagnostic(listener: DiagnosticListener?): Builder = apply { onDiagnostic = listener }

        /**
         * Receives what the calls that do not throw could not do: a mode
         * setter's error (`UnknownMode`, `UnknownPurpose`, `Storage`,
         * `ShutDown`), on the caller's thread, and a start that failed on the
         * core's thread (`StorageOfAnotherSite`, `Storage`), on the listener's.
         */
        public fun onError(listener: ErrorListener?): Builder = apply { onError = listener }

        /**
         * Strict mode, for debug builds and tests (the core's
         * `MesureConfig.strict`): a call made before the start waits for it
         * and answers with its own outcome; `track*` throws
         * [MesureException.TrackRefused] for a refused event or a property
         * of a type the SDK cannot send; setters throw their error; calls
         * after [Mesure.close] throw [MesureException.ShutDown]. Off by
         * default: then nothing but the waiting operations throws.
         */
        public fun strict(on: Boolean): Builder = apply { strict = on }

        /**
         * The debug log, off by default: each upload request (the visitor id
         * shortened to four characters, and per hit its event and property
         * keys), each property or event held back, each refusal and each
         * change of mode or purposes, to [logSink], one line each, prefixed
         * with the site. Keys and codes only, never property values. In a
         * release build of the app (not debuggable) it stays off unless
         * [debugLogInReleaseBuild] forces it.
         */
        public fun debugLog(on: Boolean): Builder = apply { debugLog = on }

        /**
         * Forces the debug log in a release build too. A release build's
         * log can be read by whoever holds the device: leave this off in
         * what you ship.
         */
        public fun debugLogInReleaseBuild(on: Boolean): Builder = apply { debugLogInReleaseBuild = on }

        /**
         * Whether the app is a release build (not debuggable). `MesureAndroid`
         * sets it from the app's `FLAG_DEBUGGABLE`; on the desktop JVM it is
         * false unless set.
         */
        public fun releaseBuild(release: Boolean): Builder = apply { releaseBuild = release }

        /** Where log lines go (Timber, a test); the platform's log by default. */
        public fun logSink(sink: LogSink?): Builder = apply { logSink = sink }

        /** A time source, for tests only: apps leave it out. */
        public fun clock(clock: MesureClock?): Builder = apply { this.clock = clock }

        public fun build(): MesureOptions = MesureOptions(this)
    }

    public companion object {
        /** The defaults: no HTTP client, no listener, not strict, no debug log. */
        @JvmField
        public val DEFAULT: MesureOptions = Builder().build()

        @JvmStatic
        public fun builder(): Builder = Builder()
    }
}
