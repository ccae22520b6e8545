package eu.mesure

import eu.mesure.ffi.MesureException as FfiException

/**
 * What a Mesure operation fails with. [message] is a sentence (the core's
 * own wording, the same on iOS); the properties carry the details for code
 * that branches on them.
 *
 * Tracking and the mode setters never throw it, except in strict mode
 * ([MesureOptions.Builder.strict]): their problems reach
 * [MesureOptions.Builder.onDiagnostic], [MesureOptions.Builder.onError] and
 * the log instead. The waiting operations ([Mesure.flush] and the others)
 * throw it; so does [Mesure.start], for an invalid configuration only.
 */
public sealed class MesureException(message: String) : Exception(message) {
    /** A configuration field failed validation: [field] is its path (`site_id`, `exempt_allowlist[0].property`). */
    public class InvalidConfig(public val field: String, public val reason: String, message: String) : MesureException(message)

    /**
     * Strict mode: `track*` refused the event. [reason] is a stable code:
     * `invalid_event_name`, `too_many_properties`, `duplicate_property`,
     * `empty_name`, `queue_full`, `shut_down`, or `unsupported_value` (a
     * property of a type the SDK cannot send).
     */
    public class TrackRefused(public val reason: String, message: String) : MesureException(message)

    /** [Mesure.setMode] with a custom mode the configuration does not define. */
    public class UnknownMode(public val name: String, message: String) : MesureException(message)

    /** A purpose the configuration does not list. */
    public class UnknownPurpose(public val name: String, message: String) : MesureException(message)

    /** Storage failed; what was accepted waits in memory (bounded) and writing is retried. */
    public class Storage(public val detail: String, message: String) : MesureException(message)

    /** The instance is closed ([Mesure.close]): start a new one. */
    public class ShutDown(message: String) : MesureException(message)

    /** The SDK's background thread did not answer in time. */
    public class Timeout(message: String) : MesureException(message)

    /**
     * Another Mesure instance, in this process or another one, uses the
     * storage directory [dir]. One instance per site and directory; on
     * Android, Mesure runs in the main process only.
     */
    public class StorageInUse(public val dir: String, message: String) : MesureException(message)

    /** The storage directory [dir] holds the store of another [site]: one directory per site. */
    public class StorageOfAnotherSite(public val dir: String, public val site: String, message: String) : MesureException(message)

    /** A background thread could not be started. */
    public class Thread(public val detail: String, message: String) : MesureException(message)

    /** The built-in HTTP client (desktop builds) could not be started. */
    public class HttpClient(public val detail: String, message: String) : MesureException(message)

    /**
     * A call that waits was made from one of the SDK's own threads, where
     * waiting could stall it: from a diagnostics or error callback, use the
     * suspend variant from a coroutine, or the non-blocking calls.
     */
    public class CalledFromSdkThread(public val operation: String, message: String) : MesureException(message)

    /** The SDK did not start; [Mesure.state] says why. */
    public class NotStarted(message: String) : MesureException(message)

    /**
     * An error of a newer core this wrapper does not classify (the two ship
     * together, so this is not expected); [detail] is the core's sentence.
     */
    public class Internal(public val detail: String, message: String) : MesureException(message)
}

/** The wrapper's error for the FFI's, with the FFI's sentence (its Rust `Display`) as message. */
internal fun FfiException.toMesure(): MesureException {
    val sentence = toString()
    return when (this) {
        is FfiException.InvalidConfig -> MesureException.InvalidConfig(field, reason, sentence)
        is FfiException.TrackRefused -> MesureException.TrackRefused(reason, sentence)
        is FfiException.UnknownMode -> MesureException.UnknownMode(name, sentence)
        is FfiException.UnknownPurpose -> MesureException.UnknownPurpose(name, sentence)
        is FfiException.Storage -> MesureException.Storage(detail, sentence)
        is FfiException.ShutDown -> MesureException.ShutDown(sentence)
        is FfiException.NotStarted -> MesureException.NotStarted(sentence)
        is FfiException.Timeout -> MesureException.Timeout(sentence)
        is FfiException.StorageInUse -> MesureException.StorageInUse(dir, sentence)
        is FfiException.StorageOfAnotherSite -> MesureException.StorageOfAnotherSite(dir, site, sentence)
        is FfiException.Thread -> MesureException.Thread(detail, sentence)
        is FfiException.HttpClient -> MesureException.HttpClient(detail, sentence)
        is FfiException.CalledFromSdkThread -> MesureException.CalledFromSdkThread(operation, sentence)
        is FfiException.Internal -> MesureException.Internal(detail, sentence)
    }
}

/** [MesureException.ShutDown], worded by the core. */
internal fun shutDown(): MesureException = FfiException.ShutDown().toMesure()

/** [MesureException.CalledFromSdkThread] for [operation], worded by the core. */
internal fun calledFromSdkThread(operation: String): MesureException = FfiException.CalledFromSdkThread(operation).toMesure()
